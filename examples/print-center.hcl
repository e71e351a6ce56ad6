# The print center of OWL-IT keeps a warm standby at its partner AKDB:
# a schedule copies the print spool to AKDB every standby_interval, and an
# emergency approver can fail production over at the push of a button
# (`umzug failover`, or the "failover" signal in the Web UI).
#
# Like finance.hcl it runs on the two in-process demo data centers: the
# defaults point at `umzug demo`'s directory and ports.

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
  description = "How often the standby copies the spool to AKDB."
}

variable "confirm_within" {
  type        = string
  default     = "2h"
  description = "How long the second emergency approver has to confirm a failover."
}

locals {
  owl  = "${var.demo_dir}/paderborn"
  akdb = "${var.demo_dir}/lemgo"
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

  copy "spool" {
    from   = "${local.owl}/srv/print/spool"
    to     = "${local.akdb}/srv/print/spool"
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

  cutover {
    approval {
      approvers = ["k.meier", "s.wolf"]
    }
    step "stop_spool" {
      on   = "source"
      run  = "echo stopped > ${local.owl}/run/print.state"
      undo = "echo running > ${local.owl}/run/print.state"
    }
    final_sync {}
    step "start_spool" {
      on   = "target"
      run  = "echo running > ${local.akdb}/run/print.state"
      undo = "echo stopped > ${local.akdb}/run/print.state"
    }
    check "spool_ok" {
      on  = "target"
      run = "grep -qx running ${local.akdb}/run/print.state"
    }
  }
}
