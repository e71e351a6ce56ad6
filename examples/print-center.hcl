# Print and mail: OWL-IT runs the print center, AKDB keeps a partner site
# ready to take over. A standby schedule copies the print data to AKDB every
# standby_interval; an emergency approver fails production over at the push
# of a button (`umzug failover`, or the "failover" signal in the Web UI);
# `umzug failback` brings it home once OWL-IT runs again, copying back only
# what changed at AKDB. A rehearsal runs the whole move into a scratch root
# first, and approvals of the real move need one from the last 30 days.
#
# Like finance.hcl it runs on the two in-process demo data centers
# (`umzug demo --scenario failover`): the defaults point at the demo's
# directory and ports.

variable "demo_dir" {
  type        = string
  default     = "/tmp/umzug-demo"
  description = "Where the demo hosts keep their files, keys and known_hosts."
}

variable "owl_address" {
  type    = string
  default = "127.0.0.1:2222"
}

variable "akdb_address" {
  type    = string
  default = "127.0.0.1:2223"
}

variable "standby_interval" {
  type        = string
  default     = "15m"
  description = "How often the standby copies the print data to AKDB."
}

variable "confirm_within" {
  type        = string
  default     = "2h"
  description = "How long the second emergency approver has to confirm a failover."
}

locals {
  owl  = "${var.demo_dir}/owl"
  akdb = "${var.demo_dir}/akdb"
}

datacenter "owl" {
  description = "OWL-IT print center"
}

datacenter "akdb" {
  description = "AKDB partner print center"
}

host "owl_print" {
  datacenter    = datacenter.owl
  address       = var.owl_address
  user          = "print"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

host "akdb_print" {
  datacenter    = datacenter.akdb
  address       = var.akdb_address
  user          = "print"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}

application "print" {
  description = "Druck und Versand"
  source      = host.owl_print
  target      = host.akdb_print

  copy "print" {
    from   = "${local.owl}/srv/print"
    to     = "${local.akdb}/srv/print"
    verify = "sha256"
    delete = true
  }

  standby {
    interval = var.standby_interval
  }

  emergency {
    approvers      = ["k.meier", "s.wolf", "a.huber"]
    confirm_within = var.confirm_within
  }

  # A rehearsal copies everything under this root on the partner host
  # (the root followed by each copy's `to`), runs the steps marked
  # rehearse = true and the checks that do not opt out, measures them and
  # removes what it wrote.
  rehearsal {
    root            = "${var.demo_dir}/rehearsal"
    required_within = "30d"
  }

  # umzug failback ID: copy back what changed at AKDB, then the cutover's
  # undo commands in reverse order.
  failback {
    from_undo = true
  }

  cutover {
    approval {
      approvers = ["k.meier", "s.wolf", "a.huber"]
      quorum    = 2
      four_eyes = true
    }
    step "announce" {
      on       = "source"
      run      = "echo 'print production moves to AKDB' >> ${local.owl}/run/print.log"
      undo     = "echo 'print production back at OWL-IT' >> ${local.owl}/run/print.log"
      rehearse = true
    }
    step "stop_spool" {
      on   = "source"
      run  = "echo stopped > ${local.owl}/run/print.state"
      undo = "echo running > ${local.owl}/run/print.state"
    }
    final_sync {}
    step "start_spool" {
      on   = "target"
      run  = "mkdir -p ${local.akdb}/run && echo running > ${local.akdb}/run/print.state"
      undo = "echo stopped > ${local.akdb}/run/print.state"
    }
    # Commands name the real paths, so checks of the real site stay out of
    # rehearsals.
    check "spool_ok" {
      on       = "target"
      run      = "grep -qx running ${local.akdb}/run/print.state"
      rehearse = false
    }
    check "data_present" {
      on       = "target"
      run      = "test -d ${local.akdb}/srv/print"
      rehearse = false
    }
    # This one holds on the scratch root too: it runs in rehearsals.
    check "tools_ready" {
      on  = "target"
      run = "command -v grep >/dev/null"
    }
  }

  soak = "1h"
}
