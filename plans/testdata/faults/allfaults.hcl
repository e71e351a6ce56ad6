# One plan holding every fault the loader must find in a single run.
# Each "want" comment names a diagnostic expected to start on its line.

variable "base" {
  type    = string
  default = "/srv"
}

datacenter "paderborn" {
  description = "GKD Paderborn"
  colour      = "blue" # want error "Unsupported argument"
}

datacenter "lemgo" {
  description = "krz Lemgo"
}

host "pb" {
  datacenter    = datacenter.paderborn
  address       = "10.20.1.15:22"
  user          = "migrate"
  identity_file = "~/.ssh/umzug_ed25519"
  known_hosts   = "~/.ssh/known_hosts"
}

host "lg" {
  datacenter    = datacenter.lemgp # want error "Reference to undefined datacenter"
  address       = "10.40.7.21"
  user          = "migrate"
  identity_file = "~/.ssh/umzug_ed25519"
  known_hosts   = "~/.ssh/known_hosts"
}

application "ledger" {
  source     = host.pb
  target     = host.lgg # want error "Reference to undefined host"
  depends_on = [application.reports]

  copy "data" {
    from = "${var.bsae}/ledger" # want error "Reference to undeclared variable"
    to   = "srv/ledger"         # want error "Relative path"
  }

  cutover { # want error "Missing final_sync"
    approval {
      approvers = ["a.meier", "b.schulz"]
      quorum    = 3 # want error "Quorum larger than approver list"
    }
    step "stop" {
      on      = "source"
      run     = "systemctl stop ledger"
      undo    = "systemctl start ledger"
      timeout = "2 minutes" # want error "Invalid duration"
    }
  }

  soak = "1x" # want error "Invalid duration"
}

application "reports" {
  source     = host.pb
  target     = host.pb # want error "Source equals target"
  depends_on = [application.ledger] # want error "Dependency cycle"
  owner      = "finance" # want error "Unsupported argument"
}
