# Quarter 4: three applications move from Paderborn to Lemgo as one wave.
# The directory service goes first; finance and reports need it and then
# move side by side (max_parallel = 2).

variable "window_start" {
  type        = string
  default     = "2030-06-07T18:00:00+02:00"
  description = "Start of the agreed cutover window (RFC 3339): set it with --var window_start=...; validate, plan and run warn when the window is over."
}

variable "approvers" {
  type    = list(string)
  default = ["a.meier", "b.schulz", "c.yilmaz"]
}

locals {
  key         = "~/.ssh/umzug_ed25519"
  known_hosts = "~/.ssh/known_hosts"
  apps        = ["directory", "finance", "reports"]
  # Every application stops and starts through the same wrapper.
  ctl = { for a in local.apps : a => "/opt/${a}/bin/${a}ctl" }
}

datacenter "paderborn" {
  description = "GKD Paderborn"
}

datacenter "lemgo" {
  description  = "krz Lemgo (certified site)"
  worker_queue = "lemgo"
}

host "bastion_pb" {
  datacenter    = datacenter.paderborn
  address       = "bastion.pb.example.org"
  user          = "migrate"
  identity_file = local.key
  known_hosts   = local.known_hosts
}

host "dir_pb" {
  datacenter    = datacenter.paderborn
  address       = "10.20.1.10"
  user          = "migrate"
  identity_file = local.key
  known_hosts   = local.known_hosts
  jump          = host.bastion_pb
}

host "dir_lg" {
  datacenter    = datacenter.lemgo
  address       = "10.40.7.10:22"
  user          = "migrate"
  identity_file = local.key
  known_hosts   = local.known_hosts
}

host "fin_pb" {
  datacenter    = datacenter.paderborn
  address       = "10.20.1.15"
  user          = "migrate"
  identity_file = local.key
  known_hosts   = local.known_hosts
  jump          = host.bastion_pb
}

host "fin_lg" {
  datacenter    = datacenter.lemgo
  address       = "10.40.7.21"
  user          = "migrate"
  identity_file = local.key
  known_hosts   = local.known_hosts
}

host "rep_pb" {
  datacenter    = datacenter.paderborn
  address       = "10.20.1.16"
  user          = "migrate"
  identity_file = local.key
  known_hosts   = local.known_hosts
  jump          = host.bastion_pb
}

host "rep_lg" {
  datacenter    = datacenter.lemgo
  address       = "10.40.7.22"
  user          = "migrate"
  identity_file = local.key
  known_hosts   = local.known_hosts
}

application "directory" {
  description = "Verzeichnisdienst"
  source      = host.dir_pb
  target      = host.dir_lg

  copy "ldap" {
    from   = "/var/lib/ldap"
    to     = "/var/lib/ldap"
    delete = true
  }

  cutover {
    window {
      not_before = var.window_start
      duration   = "2h"
    }
    approval {
      approvers = var.approvers
      quorum    = 2
      timeout   = "3d"
    }

    step "stop" {
      on   = "source"
      run  = "${local.ctl["directory"]} stop"
      undo = "${local.ctl["directory"]} start"
    }
    final_sync {}
    step "start" {
      on   = "target"
      run  = "${local.ctl["directory"]} start"
      undo = "${local.ctl["directory"]} stop"
    }
    check "bind" {
      on       = "target"
      run      = "ldapwhoami -x -H ldap://127.0.0.1"
      retries  = 10
      interval = "10s"
    }
  }

  soak = "12h"
}

application "finance" {
  description = "Finanzwesen"
  source      = host.fin_pb
  target      = host.fin_lg
  depends_on  = [application.directory]

  copy "ledger" {
    from      = "/srv/finance/data"
    to        = "/srv/finance/data"
    exclude   = ["**/*.tmp", "cache/**"]
    delete    = true
    bandwidth = "200MiB/s"
  }

  copy "config" {
    from = "/etc/finance"
    to   = "/etc/finance"
  }

  cutover {
    window {
      not_before = var.window_start
      duration   = "4h"
    }
    approval {
      approvers = var.approvers
      quorum    = 2
      timeout   = "72h"
    }

    step "stop_app" {
      on      = "source"
      run     = "${local.ctl["finance"]} stop"
      undo    = "${local.ctl["finance"]} start"
      timeout = "5m"
    }
    final_sync {}
    step "start_app" {
      on   = "target"
      run  = "${local.ctl["finance"]} start"
      undo = "${local.ctl["finance"]} stop"
    }
    check "health" {
      on       = "target"
      run      = "curl -fsS http://127.0.0.1:8080/health"
      retries  = 10
      interval = "10s"
    }
  }

  soak = "1d"
}

application "reports" {
  description = "Berichtswesen"
  source      = host.rep_pb
  target      = host.rep_lg
  depends_on  = [application.directory]

  copy "archive" {
    from        = "/srv/reports"
    to          = "/srv/reports"
    include     = ["20*/**"]
    concurrency = 8
  }

  cutover {
    approval {
      approvers = var.approvers
      quorum    = 1
    }

    step "stop" {
      on   = "source"
      run  = "${local.ctl["reports"]} stop"
      undo = "${local.ctl["reports"]} start"
    }
    final_sync {}
    step "start" {
      on   = "target"
      run  = "${local.ctl["reports"]} start"
      undo = "${local.ctl["reports"]} stop"
    }
  }

  soak = "4h"
}

wave "q4" {
  applications = [application.directory, application.finance, application.reports]
  max_parallel = 2
}
