// decide.mjs sends signals and updates to a workflow through the Temporal
// Web UI, the way an engineer does: open the workflow, More Actions → Send a
// Signal (or Send an Update), pick the name, type the JSON into Data, Submit.
// Each step saves a screenshot per stage and answers with one JSON line:
// {"ok": true, "closed": true} when the dialog closed (the UI took it), or
// {"ok": true, "closed": false, "error": "…"} with the error the dialog
// showed, or {"ok": false, "error": "…"} when the step could not be done.
// A step fails when the UI's answer is not the expected one (a refusal
// with expect_refusal, the dialog closing without).
//
// One step from the command line (exit 1 when it fails):
//   node decide.mjs --ui http://127.0.0.1:8233 --workflow umzug/finance/finance \
//     --kind signal --name approve --data '{"approver":"b.schulz"}' \
//     --shots artifacts --label 02-approve-b.schulz [--expect-refusal]
//   node decide.mjs --ui … --workflow … --kind view --status Completed --label 05-done
// Many steps with one browser: --serve reads one JSON step per stdin line
// ({"label", "kind", "name", "data", "expect_refusal", "status"}) and
// answers each on stdout; it ends at the end of stdin.
//
// The UI re-renders its dialogs while data arrives, so every stage finds
// its elements afresh by selector, and every click is retried until its
// effect shows (bounded by --timeout per stage).
import { parseArgs } from 'node:util';
import path from 'node:path';
import fs from 'node:fs';
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

class StepError extends Error {}

// fail ends the step with msg.
function fail(msg) {
  throw new StepError(msg);
}

const { values: opt } = parseArgs({
  options: {
    ui: { type: 'string' },
    namespace: { type: 'string', default: 'default' },
    workflow: { type: 'string' },
    serve: { type: 'boolean', default: false },
    kind: { type: 'string' }, // signal, update, or view (a screenshot once --status shows)
    name: { type: 'string' },
    data: { type: 'string' },
    status: { type: 'string' }, // view: the workflow status to wait for, e.g. Completed
    label: { type: 'string', default: 'decide' },
    'expect-refusal': { type: 'boolean', default: false },
    shots: { type: 'string', default: 'artifacts' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    timeout: { type: 'string', default: '45000' }, // ms, per stage
  },
});
const waitMs = Number(opt.timeout);
const began = Date.now();

function debug(msg) {
  if (process.env.DECIDE_DEBUG) process.stderr.write(`${((Date.now() - began) / 1000).toFixed(1)}s ${msg}\n`);
}

// newStep checks one step's fields and derives its selectors.
function newStep(c) {
  if (!['signal', 'update', 'view'].includes(c.kind)) fail(`kind ${JSON.stringify(c.kind)}: use signal, update or view`);
  const required = c.kind === 'view' ? ['label', 'status'] : ['label', 'name', 'data'];
  for (const k of required) {
    if (!c[k]) fail(`${k} is required for ${c.kind}`);
  }
  const s = { ...c, shots: 0, stage: 'start', title: { signal: 'Send a Signal', update: 'Send an Update' }[c.kind] || 'View' };
  // The open dialog: the page keeps a closed copy of each for another layout.
  s.D = `dialog[open][data-testid="${c.kind}-confirmation-modal"]`;
  s.SELECT = `${s.D} button[aria-haspopup="true"]`;
  s.EDITOR = `${s.D} [role="textbox"][aria-label="Data"]`;
  if (c.kind !== 'view') {
    try {
      s.want = JSON.stringify(JSON.parse(c.data));
    } catch (e) {
      fail(`data is not JSON (${e.message}): ${c.data}`);
    }
  }
  return s;
}

async function shot(s, page, what) {
  s.shots++;
  debug(`${s.label}: screenshot ${what}`);
  await page.screenshot({ path: path.join(opt.shots, `${s.label}-${s.shots}-${what}.png`) });
}

// retry acts until check (a page function over args) holds, giving each
// try a few seconds: on a loaded machine the UI may ignore a click it gets
// before its handlers are attached. Bounded by waitMs in all.
async function retry(page, what, act, check, ...args) {
  const end = Date.now() + waitMs;
  for (let n = 1; ; n++) {
    // Act only while check fails: a late answer to the previous try
    // counts, and acting again could undo it.
    if (await page.evaluate(check, ...args)) return;
    if (Date.now() >= end) fail(`${what}: not done after ${n - 1} tries in ${waitMs}ms`);
    debug(`${what}: try ${n}`);
    await act().catch((e) => debug(`${what}: ${e.message}`)); // the element may be re-rendering; try again
    const left = Math.max(1000, Math.min(5000, end - Date.now()));
    if (await page.waitForFunction(check, { timeout: left, polling: 100 }, ...args).then(() => true, () => false)) return;
  }
}

// openDialog: More Actions → Send a Signal / Send an Update, until the
// dialog is open and lists the handlers (from the worker's metadata).
async function openDialog(s, page) {
  const item = `::-p-aria([name="${s.title}"][role="menuitem"])`;
  await retry(page, `open ${s.title}`, async () => {
    const shown = await page.$(item).then((h) => h?.isVisible());
    if (!shown) await page.locator('::-p-aria([name="More Actions"][role="button"])').setTimeout(5000).click();
    await page.locator(item).setTimeout(5000).click();
  }, (d) => !!document.querySelector(d), s.D);
  await page.waitForSelector(s.SELECT, { visible: true, timeout: waitMs }).catch(() =>
    fail(`the ${s.title} dialog offers no list of names: the UI could not read the workflow's handlers ` +
      '(is a worker of this build polling the task queue?)'));
}

// pickOption picks the option whose name (first line of the option) is
// exactly s.name: the descriptions under the names mention other decisions.
async function pickOption(s, page) {
  const names = await page.$$eval(`${s.D} [role="listbox"] [role="option"] span:first-child`,
    (x) => x.map((e) => e.textContent.trim()));
  if (!names.includes(s.name)) fail(`no option named "${s.name}"; the UI offers: ${names.join(', ')}`);
  await retry(page, `pick "${s.name}"`, async () => {
    const expanded = await page.$eval(s.SELECT, (b) => b.getAttribute('aria-expanded') === 'true');
    if (!expanded) await page.locator(s.SELECT).setTimeout(5000).click();
    const option = await page.waitForFunction((d, n) => [...document.querySelectorAll(`${d} [role="option"]`)]
      .find((o) => o.querySelector('span')?.textContent.trim() === n), { timeout: 5000 }, s.D, s.name);
    // As a locator it is clicked once the list has stopped animating in.
    await option.asElement().asLocator().setTimeout(5000).click();
  }, (sel, n) => document.querySelector(`${sel} input`)?.value === n, s.SELECT, s.name);
  // An open or fading list lies over the Data editor; wait until it is
  // gone. Picking closes it; click only if it is still expanded, never
  // while it merely fades out (that click would open it again).
  await retry(page, 'close the name list', async () => {
    if (await page.$eval(s.SELECT, (b) => b.getAttribute('aria-expanded') === 'true')) await page.locator(s.SELECT).setTimeout(5000).click();
  }, (sel, d) => {
    const lb = document.querySelector(`${d} [role="listbox"]`);
    return document.querySelector(sel)?.getAttribute('aria-expanded') !== 'true' &&
      (!lb || getComputedStyle(lb).visibility === 'hidden');
  }, s.SELECT, s.D);
}

// holds says whether the editor (sel) holds the JSON w, and is not focused.
function holds(sel, w) {
  const e = document.querySelector(sel);
  if (!e || e.contains(document.activeElement)) return false;
  try {
    return JSON.stringify(JSON.parse(e.innerText)) === w;
  } catch {
    return false;
  }
}

// fillData types the JSON into the Data editor (CodeMirror) as one
// insertion, so its bracket and quote auto-closing cannot double anything,
// then leaves the editor: it pretty-prints on blur and the dialog grows,
// which must happen before the Submit click (a button that moves between
// mousedown and mouseup gets no click).
async function fillData(s, page) {
  await retry(page, 'type the JSON into Data', async () => {
    const editor = await page.waitForSelector(s.EDITOR, { visible: true, timeout: 5000 });
    // Focus, not a click: nothing that may lie over the editor can take it.
    await editor.focus();
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await page.keyboard.sendCharacter(s.data);
    await editor.evaluate((e) => e.blur());
  }, holds, s.EDITOR, s.want);
  // Signals have an Encoding choice; the decision handlers read json/plain.
  const plain = `${s.D} input[type="radio"][value="json/plain"]`;
  await retry(page, 'choose json/plain', () => page.locator(plain).setTimeout(5000).click(),
    (sel) => document.querySelector(sel)?.checked !== false, plain);
}

// checkForm is the last look before Submit: the dialog holds the name and
// the JSON, and the list is closed; otherwise nothing is sent.
async function checkForm(s, page) {
  const got = await page.$eval(s.D, (d) => ({
    name: d.querySelector('button[aria-haspopup="true"] input')?.value,
    data: d.querySelector('[role="textbox"][aria-label="Data"]')?.innerText,
    listOpen: d.querySelector('button[aria-haspopup="true"]')?.getAttribute('aria-expanded') === 'true',
  }));
  const ok = await page.evaluate(holds, s.EDITOR, s.want);
  if (got.name !== s.name || !ok || got.listOpen) {
    fail(`the dialog is not as filled in (name ${JSON.stringify(got.name)}, data ${JSON.stringify(got.data)}, ` +
      `list open ${got.listOpen}); want ${s.name} with ${s.want}; nothing sent`);
  }
}

// submit clicks Submit once and waits until the dialog closes (the UI took
// it) or shows an error in an alert line (the server refused it). Not
// retried: a second click could send the decision twice.
async function submit(s, page) {
  // The locator clicks once the button is enabled and has stopped moving.
  await page.locator(`${s.D} [data-testid="confirm-modal-button"]`).setTimeout(waitMs).click();
  const outcome = await page.waitForFunction((d) => {
    const dlg = document.querySelector(d);
    if (!dlg) return { closed: true };
    const alerts = [...dlg.querySelectorAll('[role="alert"]')].map((a) => a.textContent.trim()).filter(Boolean);
    return alerts.length ? { closed: false, error: alerts.join(' | ') } : null;
  }, { timeout: waitMs, polling: 100 }, s.D).then((h) => h.jsonValue());
  // The toast ("Workflow signaled.") comes and goes; read it if it is there.
  outcome.toast = await page.evaluate(() => [...document.querySelectorAll('[id$="-toast"], [data-testid$="-toast"]')]
    .filter((e) => e.getBoundingClientRect().height > 0).map((e) => e.textContent.trim()).filter(Boolean).join(' | '));
  return outcome;
}

// view waits until the page shows the workflow status s.status.
async function view(s, page) {
  s.stage = `wait for status ${s.status}`;
  // The badge beside the workflow ID (RUNNING, COMPLETED, …).
  await page.waitForFunction((st) => [...document.querySelectorAll('[data-testid="execution-status"]')]
    .some((e) => e.textContent.trim().toLowerCase() === st.toLowerCase()),
  { timeout: waitMs, polling: 250 }, s.status).catch(async () => {
    const shown = await page.$$eval('[data-testid="execution-status"]', (x) => x.map((e) => e.textContent.trim()));
    fail(`the workflow's status badge shows ${JSON.stringify(shown)}, not ${s.status}`);
  });
  await shot(s, page, s.status.toLowerCase());
  return { status: s.status };
}

// decide runs one signal or update step on a fresh page.
async function decide(s, page) {
  const url = `${opt.ui.replace(/\/$/, '')}/namespaces/${encodeURIComponent(opt.namespace)}/workflows/${encodeURIComponent(opt.workflow)}`;
  s.stage = `open ${url}`;
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  // The header shows the workflow ID once the UI has loaded it.
  await page.waitForFunction((id) => [...document.querySelectorAll('h1')].some((h) => h.textContent.includes(id)),
    { timeout: waitMs }, opt.workflow).catch(() => fail(`${url} never showed workflow ${opt.workflow}`));
  if (s.kind === 'view') return view(s, page);
  await shot(s, page, 'workflow');
  s.stage = `More Actions → ${s.title}`;
  await openDialog(s, page);
  s.stage = `pick ${s.name}`;
  await pickOption(s, page);
  s.stage = 'fill in Data';
  await fillData(s, page);
  await shot(s, page, 'filled');
  await checkForm(s, page);
  s.stage = 'Submit and wait for the answer';
  const outcome = await submit(s, page);
  await shot(s, page, outcome.closed ? 'submitted' : 'refused');
  if (s.expect_refusal && outcome.closed) fail('expected the UI to show a refusal, but it took the submission');
  if (!s.expect_refusal && !outcome.closed) fail(`the UI refused it: ${outcome.error}`);
  return outcome;
}

// runStep runs one step in its own page and returns its answer line.
async function runStep(browser, c) {
  let s;
  const page = await browser.newPage();
  try {
    s = newStep(c);
    page.setDefaultTimeout(waitMs);
    await page.setViewport({ width: 1400, height: 1000 });
    const answer = await decide(s, page);
    return { ok: true, label: s.label, kind: s.kind, name: s.name, ...answer };
  } catch (e) {
    if (s) await shot(s, page, 'error').catch(() => {});
    const what = s ? `${s.title} ${s.name ?? s.status} on ${opt.workflow}, step "${s.stage}"` : 'step';
    return { ok: false, label: c.label, error: `${what}: ${e.message}` };
  } finally {
    await page.close().catch(() => {});
  }
}

async function main() {
  if (!opt.ui || !opt.workflow) fail('--ui and --workflow are required');
  fs.mkdirSync(opt.shots, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: opt.chromium,
    headless: true,
    // root in CI containers: chromium's sandbox needs user namespaces.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
    protocolTimeout: waitMs * 2,
    timeout: waitMs,
  });
  debug('chromium up');
  try {
    if (!opt.serve) {
      const a = await runStep(browser, { label: opt.label, kind: opt.kind, name: opt.name, data: opt.data,
        status: opt.status, expect_refusal: opt['expect-refusal'] });
      process.stdout.write(JSON.stringify(a) + '\n');
      if (!a.ok) process.exitCode = 1;
      return;
    }
    for await (const line of readline.createInterface({ input: process.stdin })) {
      if (!line.trim()) continue;
      let c;
      try {
        c = JSON.parse(line);
      } catch (e) {
        process.stdout.write(JSON.stringify({ ok: false, error: `step is not JSON: ${e.message}` }) + '\n');
        continue;
      }
      process.stdout.write(JSON.stringify(await runStep(browser, c)) + '\n');
    }
  } finally {
    await browser.close();
  }
}

try {
  await main();
} catch (e) {
  process.stderr.write(`decide.mjs: ${e instanceof StepError ? e.message : e.stack}\n`);
  process.exitCode = 1;
}
