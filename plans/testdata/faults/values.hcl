# Faults in single values: on, verify, bandwidth, retries, times, numbers.

datacenter "a" {}

datacenter "b" {}

host "src" {
  datacenter  = datacenter.a
  address     = "src.example:70000" # want error "Invalid address"
  user        = "migrate"
  agent       = true
  known_hosts = "/etc/ssh/known_hosts"
}

host "dst" { # want error "No authentication"
  datacenter  = datacenter.b
  address     = "dst.example"
  user        = "migrate"
  known_hosts = "/etc/ssh/known_hosts"
}

host "both" {
  datacenter    = datacenter.b
  address       = "both.example"
  user          = "migrate"
  identity_file = "/keys/id"
  agent         = true # want error "Conflicting authentication"
  known_hosts   = "/etc/ssh/known_hosts"
}

host "nokh" { # want error "Missing required argument"
  datacenter = datacenter.b
  address    = "nokh.example"
  user       = "migrate"
  agent      = true
}

application "app" {
  source = host.src
  target = "host.dst" # want error "Invalid reference"

  copy "data" {
    from        = "/data"
    to          = "/data"
    verify      = "md5"      # want error "Invalid verify"
    bandwidth   = "fast"     # want error "Invalid bandwidth"
    concurrency = 0          # want error "Invalid concurrency"
    exclude     = "*.tmp"    # want error "Incorrect value type"
  }

  copy "data" { # want error "Duplicate copy \"data\""
    from = "/x"
    to   = "/x"
  }

  cutover {
    window {
      not_before = "tomorrow evening" # want error "Invalid time"
      duration   = "4h"
    }
    approval {
      approvers = ["a.meier", "a.meier"] # want error "Duplicate approver"
      quorum    = 0                      # want error "Invalid quorum"
      four_eyes = false                  # want warning "Four-eyes disabled"
    }
    step "stop" { # want warning "Step without undo"
      on  = "sauce" # want error "Invalid on"
      run = "systemctl stop app"
    }
    final_sync {}
    check "health" {
      on      = "target"
      run     = "curl -fsS http://127.0.0.1/health"
      retries = -1 # want error "Invalid retries"
    }
    check "health" { # want error "Duplicate check \"health\""
      on  = "target"
      run = "true"
    }
    rollback {} # want error "Unsupported block type"
  }
}

application "app" { # want error "Duplicate application \"app\""
  source = host.src
  target = host.dst
}

wave "w" {
  applications = [application.app, application.app] # want error "Application listed twice"
  max_parallel = 0                                   # want error "Invalid max_parallel"
}
