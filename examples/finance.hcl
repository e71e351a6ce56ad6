# Finance (Finanzwesen) moves from GKD Paderborn to krz Lemgo.
#
# `umzug demo` serves both data centers from in-process SSH servers on
# loopback and sets demo_dir, the addresses and window_start for this run;
# the defaults below are what it uses when nothing is overridden.

variable "demo_dir" {
  type        = string
  default     = "/tmp/umzug-demo"
  description = "Where umzug demo keeps the demo hosts' files, keys and known_hosts."
}

variable "paderborn_address" {
  type    = string
  default = "127.0.0.1:2222"
}

variable "lemgo_address" {
  type    = string
  default = "127.0.0.1:2223"
}

variable "window_start" {
  type        = string
  default     = "2030-06-07T18:00:00+02:00"
  description = "Start of the agreed cutover window (RFC 3339): set it with --var window_start=...; umzug demo sets it to now."
}

locals {
  pb = "${var.demo_dir}/paderborn"
  lg = "${var.demo_dir}/lemgo"
}

datacenter "paderborn" {
  description = "GKD Paderborn"
}

datacenter "lemgo" {
  description = "krz Lemgo (certified site)"
}

host "fin_pb" {
  datacenter    = datacenter.paderborn
  address       = var.paderborn_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

host "fin_lg" {
  datacenter    = datacenter.lemgo
  address       = var.lemgo_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

application "finance" {
  description = "Finanzwesen"
  source      = host.fin_pb
  target      = host.fin_lg

  copy "ledger" {
    from    = "${local.pb}/srv/finance/data"
    to      = "${local.lg}/srv/finance/data"
    exclude = ["**/*.tmp", "cache/**"]
    verify  = "sha256"
    delete  = true
  }

  cutover {
    window {
      not_before = var.window_start
      duration   = "4h"
    }
    approval {
      approvers = ["a.meier", "b.schulz", "c.yilmaz"]
      quorum    = 2
      four_eyes = true
      timeout   = "72h"
    }

    step "stop_app" {
      on      = "source"
      run     = "${local.pb}/bin/financectl stop"
      undo    = "${local.pb}/bin/financectl start"
      timeout = "2m"
    }
    final_sync {}
    step "start_app" {
      on   = "target"
      run  = "${local.lg}/bin/financectl start"
      undo = "${local.lg}/bin/financectl stop"
    }
    check "health" {
      on       = "target"
      run      = "${local.lg}/bin/financectl health"
      retries  = 5
      interval = "2s"
    }
  }

  soak = "10m"
}
