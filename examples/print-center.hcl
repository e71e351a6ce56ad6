# Print center: OWL-IT prints and mails from its print center; AKDB keeps a
# partner site ready to take over. The print application can be rehearsed
# on a scratch root at the partner, moved (or failed over) there, and
# failed back once OWL-IT's print center runs again.

datacenter "owl" {
  description = "OWL-IT print center"
}

datacenter "akdb" {
  description = "AKDB partner site"
}

host "owl_print" {
  datacenter  = datacenter.owl
  address     = "print.owl-it.example:22"
  user        = "umzug"
  agent       = true
  known_hosts = "~/.ssh/known_hosts"
}

host "akdb_print" {
  datacenter  = datacenter.akdb
  address     = "print.akdb.example:22"
  user        = "umzug"
  agent       = true
  known_hosts = "~/.ssh/known_hosts"
}

host "akdb_scratch" {
  datacenter  = datacenter.akdb
  address     = "scratch.akdb.example:22"
  user        = "umzug"
  agent       = true
  known_hosts = "~/.ssh/known_hosts"
}

application "print" {
  description = "Druck und Versand"
  source      = host.owl_print
  target      = host.akdb_print

  copy "spool" {
    from   = "/srv/print/spool"
    to     = "/srv/print/spool"
    verify = "sha256"
    delete = true
  }
  copy "forms" {
    from   = "/srv/print/forms"
    to     = "/srv/print/forms"
    verify = "sha256"
    delete = true
  }

  # A rehearsal copies everything to /srv/rehearsal on the scratch host,
  # runs the steps marked rehearse = true and the checks, measures them
  # and removes what it wrote. Approvals of the real move are refused
  # without a successful rehearsal in the last 30 days.
  rehearsal {
    target          = host.akdb_scratch
    root            = "/srv/rehearsal"
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
      timeout   = "24h"
    }

    step "drain_queue" {
      on       = "source"
      run      = "printctl drain --wait 10m"
      undo     = "printctl resume"
      timeout  = "15m"
      rehearse = true
    }
    step "stop_spool" {
      on      = "source"
      run     = "systemctl stop print-spool"
      undo    = "systemctl start print-spool"
      timeout = "2m"
    }
    final_sync {}
    step "start_spool" {
      on   = "target"
      run  = "systemctl start print-spool"
      undo = "systemctl stop print-spool"
    }
    check "spool_ok" {
      on       = "target"
      run      = "printctl health"
      retries  = 5
      interval = "10s"
      rehearse = false
    }
    # Commands name the real paths, so a check of the copied files stays
    # out of rehearsals; this one holds on the scratch host too.
    check "forms_present" {
      on       = "target"
      run      = "test -s /srv/print/forms/index.json"
      rehearse = false
    }
    check "printctl_ready" {
      on  = "target"
      run = "printctl version"
    }
  }

  soak = "2h"
}
