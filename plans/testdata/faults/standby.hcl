# Faults in standby and emergency blocks.

datacenter "owl" {}

datacenter "akdb" {}

host "owl_print" {
  datacenter  = datacenter.owl
  address     = "owl-print.example"
  user        = "migrate"
  agent       = true
  known_hosts = "/etc/ssh/known_hosts"
}

host "akdb_print" {
  datacenter  = datacenter.akdb
  address     = "akdb-print.example"
  user        = "migrate"
  agent       = true
  known_hosts = "/etc/ssh/known_hosts"
}

application "nocopy" {
  source = host.owl_print
  target = host.akdb_print

  standby { # want error "Standby without copy sets"
    interval = "15m"
  }
}

application "values" {
  source = host.owl_print
  target = host.akdb_print

  copy "spool" {
    from = "/srv/print/spool"
    to   = "/srv/print/spool"
  }

  standby {
    interval = "10ms" # want error "Invalid interval"
    max_lag  = "soon" # want error "Invalid duration"
  }

  standby { # want error "Duplicate standby block"
    interval = "15m"
  }

  emergency {
    approvers      = ["k.meier"] # want error "Too few emergency approvers"
    confirm_within = "0s"        # want error "Invalid confirm_within"
  }

  cutover {
    approval {
      approvers = ["k.meier", "s.wolf"]
    }
    final_sync {}
  }
}

application "lag" { # want warning "No cutover"
  source = host.owl_print
  target = host.akdb_print

  copy "spool" {
    from = "/srv/print/spool"
    to   = "/srv/print/spool2"
  }

  standby {
    interval = "15m"
    max_lag  = "5m" # want error "max_lag shorter than interval"
  }

  emergency { # want error "Emergency without cutover"
    approvers      = [] # want error "Too few emergency approvers"
    confirm_within = "2h"
  }
}

application "nostandby" {
  source = host.owl_print
  target = host.akdb_print

  copy "spool" {
    from = "/srv/print/spool"
    to   = "/srv/print/spool3"
  }

  emergency { # want error "Emergency without standby"
    approvers      = ["k.meier", "K.Meier"] # want error "Duplicate approver"
    confirm_within = "-2h"                  # want error "Invalid duration"
  }

  cutover {
    approval {
      approvers = ["k.meier", "s.wolf"]
    }
    final_sync {}
  }
}
