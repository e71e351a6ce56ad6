# umzug offload jobs: claim, release, archive, landed, discard on one host.
# Every path is walked one component at a time from a directory handle
# (openat with O_NOFOLLOW), and every move is one renameat that never
# replaces: no path is resolved twice, and a symlink planted by a local
# user is never followed. REQ is set by the caller before this program.
import ctypes, ctypes.util, errno, fnmatch, hashlib, json, os, stat, sys, time

AREA = ".umzug-offload"
MAXID = 200
SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+@=,-/")
DIRFL = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_r2 = getattr(_libc, "renameat2", None)


def fail(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(3)


def open_root(p):
    try:
        return os.open(p, DIRFL)
    except OSError as e:
        fail("cannot open %s as a directory (no symlink): %s" % (p, e.strerror))


def opendir(fd, name, create=False):
    if create:
        try:
            os.mkdir(name, 0o750, dir_fd=fd)
        except FileExistsError:
            pass
    return os.open(name, DIRFL, dir_fd=fd)


def walkdirs(fd, comps, create=False):
    cur = os.dup(fd)
    for c in comps:
        try:
            nxt = opendir(cur, c, create)
        finally:
            os.close(cur)
        cur = nxt
    return cur


def lexists(fd, name):
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def move(sfd, sname, dfd, dname):
    """renameat without replacing; False when the destination exists."""
    if _r2 is not None:
        if _r2(sfd, os.fsencode(sname), dfd, os.fsencode(dname), 1) == 0:  # RENAME_NOREPLACE
            return True
        e = ctypes.get_errno()
        if e == errno.EEXIST:
            return False
        if e not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(e, os.strerror(e), sname)
    if lexists(dfd, dname):
        return False
    os.rename(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd)
    return True


def safe_id(i):
    if not i or len(i.encode()) > MAXID or i.startswith("/") or i.endswith("/"):
        return False
    if any(c not in SAFE for c in i):
        return False
    return all(c not in ("", ".", "..") and not c.startswith("-") for c in i.split("/")) and not i.startswith(AREA)


def split(i):
    c = i.split("/")
    return c[:-1], c[-1]


def glob(rootfd, pattern):
    comps = pattern.split("/")
    out = []

    def rec(fd, prefix, k):
        try:
            names = sorted(os.listdir(fd))
        except OSError:
            return
        for n in names:
            if k == 0 and n == AREA:
                continue
            if not fnmatch.fnmatchcase(n, comps[k]):
                continue
            rel = prefix + n
            if k == len(comps) - 1:
                out.append(rel)
                continue
            try:
                sub = os.open(n, DIRFL, dir_fd=fd)
            except OSError:
                continue
            try:
                rec(sub, rel + "/", k + 1)
            finally:
                os.close(sub)

    rec(rootfd, "", 0)
    return out


def digest(pfd, name):
    """(is_dir, bytes, files, sha256) of a job, without following links."""
    st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
    if stat.S_ISREG(st.st_mode):
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        h = hashlib.sha256()
        n = 0
        with os.fdopen(fd, "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
                n += len(b)
        return False, n, 1, h.hexdigest()
    if not stat.S_ISDIR(st.st_mode):
        raise ValueError("neither a regular file nor a directory")
    lines, total, files = [], 0, 0

    def rec(fd, prefix):
        nonlocal total, files
        for n in sorted(os.listdir(fd)):
            s = os.stat(n, dir_fd=fd, follow_symlinks=False)
            rel = prefix + n
            if stat.S_ISDIR(s.st_mode):
                lines.append(rel + "\0d\0")
                sub = os.open(n, DIRFL, dir_fd=fd)
                try:
                    rec(sub, rel + "/")
                finally:
                    os.close(sub)
            elif stat.S_ISREG(s.st_mode):
                _, b, _, d = digest(fd, n)
                total += b
                files += 1
                lines.append(rel + "\0f\0" + d)
            elif stat.S_ISLNK(s.st_mode):
                lines.append(rel + "\0l\0" + os.readlink(n, dir_fd=fd))
            else:
                lines.append(rel + "\0o\0")

    sub = os.open(name, DIRFL, dir_fd=pfd)
    try:
        rec(sub, "")
    finally:
        os.close(sub)
    return True, total, files, hashlib.sha256("\n".join(lines).encode()).hexdigest()


def intents(keyfd):
    try:
        fd = os.open("claimed.list", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=keyfd)
    except FileNotFoundError:
        return []
    with os.fdopen(fd) as f:
        seen, out = set(), []
        for l in f.read().splitlines():
            if l and l not in seen:
                seen.add(l)
                out.append(l)
        return out


def note_intent(keyfd, i):
    fd = os.open("claimed.list", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640, dir_fd=keyfd)
    try:
        os.write(fd, (i + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def job_info(fd, i):
    d, n = split(i)
    pfd = walkdirs(fd, d)
    try:
        isdir, b, files, sha = digest(pfd, n)
    finally:
        os.close(pfd)
    return {"id": i, "dir": isdir, "bytes": b, "files": files, "sha256": sha}


def present(fd, i):
    d, n = split(i)
    try:
        pfd = walkdirs(fd, d)
    except OSError:
        return False
    try:
        return lexists(pfd, n)
    finally:
        os.close(pfd)


def relocate(sfd, dfd, i):
    """Move job i from under sfd to the same place under dfd."""
    d, n = split(i)
    spfd = walkdirs(sfd, d)
    try:
        dpfd = walkdirs(dfd, d, create=True)
        try:
            ok = move(spfd, n, dpfd, n)
            os.fsync(dpfd)
            os.fsync(spfd)
            return ok
        finally:
            os.close(dpfd)
    finally:
        os.close(spfd)


def candidates(rootfd, req):
    if req.get("select_list"):
        p = req["select_list"]
        d, n = os.path.split(p)
        lfd = os.open(n, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=open_root(d))
        with os.fdopen(lfd) as f:
            ids = [l.strip() for l in f.read(1 << 20).splitlines() if l.strip()]
    else:
        ids = []
        for g in req.get("select") or []:
            ids.extend(glob(rootfd, g))
    narrow = req.get("narrow") or ""
    seen, out = set(), []
    for i in ids:
        if i in seen:
            continue
        seen.add(i)
        if narrow and not fnmatch.fnmatchcase(i, narrow):
            continue
        out.append(i)
    return sorted(out)


def test_pause(req, n):
    """Test hook (UMZUG_TEST_OFFLOAD_PAUSE on the worker): once the
    operation has moved n jobs, create the marker and wait, once per
    marker and for a bounded time. It only pauses."""
    p = req.get("pause")
    if not p or p.get("after") != n:
        return
    try:
        os.close(os.open(p["marker"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    except OSError:
        return
    time.sleep(min(float(p.get("seconds") or 0), 300.0))


def claim(req):
    res = {"jobs": [], "done": [], "left": [], "over": 0}
    rootfd = open_root(req["root"])
    keyfd = walkdirs(rootfd, [AREA, req["key"]], create=True)
    cfd = opendir(keyfd, "claimed", create=True)
    maxj, maxb = req.get("max_jobs") or 100, req.get("max_bytes") or 0
    nbytes, fresh = 0, 0
    # Jobs an earlier attempt claimed count first.
    for i in intents(keyfd):
        if present(cfd, i):
            info = job_info(cfd, i)
            res["jobs"].append(info)
            res["done"].append(i)
            nbytes += info["bytes"]
    for i in candidates(rootfd, req):
        if i in res["done"]:
            continue
        if not safe_id(i):
            res["left"].append("%r: name not safe for a job ID (letters, digits, ._+@=,- and /; at most %d bytes)" % (i, MAXID))
            continue
        if not present(rootfd, i):
            continue
        try:
            info = job_info(rootfd, i)
        except (OSError, ValueError) as e:
            res["left"].append("%s: %s" % (i, e))
            continue
        if len(res["jobs"]) >= maxj or (maxb and nbytes + info["bytes"] > maxb):
            res["over"] += 1
            continue
        note_intent(keyfd, i)
        if not relocate(rootfd, cfd, i):
            res["left"].append("%s: already in the claimed area of %s" % (i, req["key"]))
            continue
        res["jobs"].append(job_info(cfd, i))
        res["done"].append(i)
        nbytes += info["bytes"]
        fresh += 1
        test_pause(req, fresh)
    return res


def release(req):
    res = {"done": [], "left": []}
    rootfd = open_root(req["root"])
    try:
        keyfd = walkdirs(rootfd, [AREA, req["key"]])
        cfd = opendir(keyfd, "claimed")
    except FileNotFoundError:
        return res
    keep = set(req.get("keep") or [])
    for i in intents(keyfd):
        if i in keep:
            continue
        if not present(cfd, i):
            if present(rootfd, i):
                res["done"].append(i)
            continue
        if relocate(cfd, rootfd, i):
            res["done"].append(i)
        else:
            res["left"].append("%s: the queue holds a job of that name again; it stays in %s/%s/claimed" % (i, AREA, req["key"]))
    return res


def write_file(dfd, name, data):
    tmp = name + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640, dir_fd=dfd)
    try:
        os.write(fd, data.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    os.fsync(dfd)


def archive(req):
    res = {"done": [], "left": []}
    rootfd = open_root(req["root"])
    keyfd = walkdirs(rootfd, [AREA, req["key"]], create=True)
    cfd = opendir(keyfd, "claimed", create=True)
    afd = opendir(keyfd, "archive", create=True)
    write_file(keyfd, "record.json", req.get("record") or "{}")
    fresh = 0
    for i in req.get("jobs") or []:
        if present(afd, i):
            res["done"].append(i)
        elif present(cfd, i) and relocate(cfd, afd, i):
            res["done"].append(i)
            fresh += 1
            test_pause(req, fresh)
        else:
            res["left"].append("%s: not in the claimed area" % i)
    return res


def landed(req):
    rootfd = open_root(req["root"])
    kfd = opendir(rootfd, ".umzug-offloads", create=True)
    write_file(kfd, req["key"] + ".jobs", "".join(i + "\n" for i in req.get("jobs") or []))
    return {"done": list(req.get("jobs") or [])}


def rmtree(pfd, name):
    st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=pfd)
        return
    fd = os.open(name, DIRFL, dir_fd=pfd)
    try:
        for n in os.listdir(fd):
            rmtree(fd, n)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=pfd)


def discard(req):
    res = {"done": [], "left": []}
    rootfd = open_root(req["root"])
    try:
        kfd = opendir(rootfd, req["key"])
    except FileNotFoundError:
        return res
    jobs = req.get("jobs") or []
    if not jobs:
        os.close(kfd)
        rmtree(rootfd, req["key"])
        return {"done": ["*"]}
    for i in jobs:
        d, n = split(i)
        try:
            pfd = walkdirs(kfd, d)
        except FileNotFoundError:
            res["done"].append(i)
            continue
        try:
            if lexists(pfd, n):
                rmtree(pfd, n)
            res["done"].append(i)
        finally:
            os.close(pfd)
    return res


def main():
    req = REQ  # noqa: F821 (set by the caller)
    if "/" in req["key"] or req["key"] in ("", ".", ".."):
        fail("bad offload key %r" % req["key"])
    op = {"claim": claim, "release": release, "archive": archive, "landed": landed, "discard": discard}.get(req["op"])
    if op is None:
        fail("unknown operation %r" % req["op"])
    try:
        res = op(req)
    except OSError as e:
        fail("%s %s: %s (%s)" % (req["op"], req["root"], e.strerror, e.filename or ""))
    sys.stdout.write("UMZUG-RESULT " + json.dumps(res) + "\n")


main()
