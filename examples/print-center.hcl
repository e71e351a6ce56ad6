# Print and mail: OWL-IT runs the print center, AKDB keeps a partner site
# ready to take over. A standby schedule copies the print data to AKDB every
# standby_interval; an emergency approver fails production over at the push
# of a button (`umzug failover`, or the "failover" signal in the Web UI);
# `umzug failback` brings it home once OWL-IT runs again, copying back only
# what changed at AKDB. A rehearsal runs the whole move into a scratch root
# first, and approvals of the real move need one from the last 30 days.
#
# The two centers also balance peak load: `umzug offload` hands a share of
# one center's print jobs to the other, whose staff produce them (offload
# "peak" in each direction: application "print" from OWL-IT to AKDB,
# application "print_akdb" from AKDB to OWL-IT). Each job is claimed out of
# the home queue, copied verified, accepted by people of the partner, taken
# into the partner's queue once, and archived at home with a record of
# where, when and under whose acceptance it was produced.
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

variable "offload_max_jobs" {
  type        = number
  default     = 50
  description = "Jobs per hand-over at most."
}

variable "accept_within" {
  type        = string
  default     = "2h"
  description = "How long the partner has to accept a hand-over before the jobs go home."
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

  # Peak load at OWL-IT: print jobs under spool/<city>/ go to AKDB. They
  # land in offload-in/owl (outside AKDB's standby copy of OWL-IT), AKDB's
  # shift leads accept, intake puts each into AKDB's partner queue, and
  # done reads AKDB's production log.
  offload "peak" {
    select   = ["spool/*/*"]
    to       = "${local.akdb}/srv/offload-in/owl"
    max_jobs = var.offload_max_jobs
    accept {
      approvers = ["m.huber", "j.bauer"]
      timeout   = var.accept_within
    }
    intake {
      run = "mkdir -p ${local.akdb}/srv/partner-queue/owl && cp -R \"$UMZUG_JOB_PATH\" ${local.akdb}/srv/partner-queue/owl/ && echo \"$UMZUG_JOB_ID\" >> ${local.akdb}/srv/partner-queue/intake.log"
    }
    done {
      run      = "grep -qxF \"$UMZUG_JOB_ID\" ${local.akdb}/srv/partner-queue/produced.log && { grep -qxF \"$UMZUG_JOB_ID\" \"$UMZUG_RESULTS_DIR/confirmations.txt\" 2>/dev/null || echo \"$UMZUG_JOB_ID\" >> \"$UMZUG_RESULTS_DIR/confirmations.txt\"; }"
      interval = "2s"
    }
    results {
      from = "${local.akdb}/srv/offload-out/owl"
      to   = "${local.owl}/srv/offload-results/akdb"
    }
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

# The other direction: AKDB's own print production, kept on standby at
# OWL-IT and handed to OWL-IT at AKDB's peaks.
application "print_akdb" {
  description = "Druck und Versand AKDB"
  source      = host.akdb_print
  target      = host.owl_print

  copy "print" {
    from   = "${local.akdb}/srv/akdb-print"
    to     = "${local.owl}/srv/standby-akdb/print"
    verify = "sha256"
    delete = true
  }

  standby {
    interval = var.standby_interval
  }

  offload "peak" {
    select   = ["spool/*/*"]
    to       = "${local.owl}/srv/offload-in/akdb"
    max_jobs = var.offload_max_jobs
    accept {
      approvers = ["k.meier", "s.wolf"]
      timeout   = var.accept_within
    }
    intake {
      run = "mkdir -p ${local.owl}/srv/partner-queue/akdb && cp -R \"$UMZUG_JOB_PATH\" ${local.owl}/srv/partner-queue/akdb/ && echo \"$UMZUG_JOB_ID\" >> ${local.owl}/srv/partner-queue/intake.log"
    }
    done {
      run      = "grep -qxF \"$UMZUG_JOB_ID\" ${local.owl}/srv/partner-queue/produced.log"
      interval = "2s"
    }
  }

  cutover {
    approval {
      approvers = ["m.huber", "j.bauer"]
      quorum    = 2
    }
    final_sync {}
  }
}
