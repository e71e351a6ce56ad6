# Only warnings: the plan loads, with each warning at its line.

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

application "rehearsal" {
  source = host.h1
  target = host.h2

  copy "c" {
    from   = "/data"
    to     = "/data"
    verify = "size_mtime" # want warning "Weak verification"
  }

  cutover { # want warning "No approval"
    final_sync {}
  }
}

application "config_only" {
  source     = host.h2
  target     = host.h1
  depends_on = [application.rehearsal]
  cutover {
    approval {
      approvers = ["a.meier"]
    }
    final_sync {} # want warning "final_sync without copy sets"
  }
}

application "seed_only" { # want warning "No cutover"
  source = host.h1
  target = host.h2
  copy "c" {
    from = "/x"
    to   = "/x"
  }
}

wave "w" {
  applications = [application.config_only] # want warning "Dependency outside the wave"
}
