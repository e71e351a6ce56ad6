# Rehearsal and failback faults: a relative scratch root, a rehearsal onto
# the source, failback in both forms at once, from_undo over a step that
# cannot be undone, an empty failback, and a required_within of zero.

datacenter "a" {}

host "h1" {
  datacenter  = datacenter.a
  address     = "h1"
  user        = "m"
  agent       = true
  known_hosts = "/kh"
}

host "h2" {
  datacenter  = datacenter.a
  address     = "h2"
  user        = "m"
  agent       = true
  known_hosts = "/kh"
}

application "print" {
  source = host.h1
  target = host.h2
  copy "spool" {
    from = "/srv/print/spool"
    to   = "/srv/print/spool"
  }
  rehearsal {
    target          = host.h1          # want error "Rehearsal target equals source"
    root            = "srv/rehearsal"  # want error "Relative rehearsal root"
    required_within = "0d"             # want error "Invalid required_within"
  }
  failback {
    from_undo = true
    step "restart" {                   # want error "Failback with from_undo and blocks"
      on   = "source"
      run  = "spoolctl start"
      undo = "spoolctl stop"
    }
  }
  cutover {
    approval {
      approvers = ["k.meier", "s.wolf"]
    }
    step "stop_spool" {                # want error "Step without undo for failback" # want warning "Step without undo"
      on       = "source"
      run      = "spoolctl stop"
      rehearse = "yes"                 # want error "Incorrect value type"
    }
    final_sync {}
  }
}

application "mail" {
  source = host.h1
  target = host.h2
  copy "outbox" {
    from = "/srv/mail/outbox"
    to   = "/srv/mail/outbox"
  }
  failback {                           # want error "Empty failback"
  }
  rehearsal {
    root = "/"                         # want error "Rehearsal root is /"
  }
  rehearsal {                          # want error "Duplicate rehearsal block"
    root = "/srv/rehearsal"
  }
  cutover {
    approval {
      approvers = ["k.meier"]
    }
    final_sync {}
  }
}
