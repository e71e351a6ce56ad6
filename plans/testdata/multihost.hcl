# Three tiers and a name server: one approval, one window, one rollback.
datacenter "pb" {
  worker_queue = "umzug-pb"
}
datacenter "lg" {
  worker_queue = "umzug-lg"
}

host "app_pb" {
  datacenter  = datacenter.pb
  address     = "10.1.0.10"
  user        = "migrate"
  agent       = true
  known_hosts = "/etc/umzug/known_hosts"
}
host "app_lg" {
  datacenter  = datacenter.lg
  address     = "10.2.0.10"
  user        = "migrate"
  agent       = true
  known_hosts = "/etc/umzug/known_hosts"
}
host "db_pb" {
  datacenter  = datacenter.pb
  address     = "10.1.0.11"
  user        = "migrate"
  agent       = true
  known_hosts = "/etc/umzug/known_hosts"
}
host "db_lg" {
  datacenter  = datacenter.lg
  address     = "10.2.0.11"
  user        = "migrate"
  agent       = true
  known_hosts = "/etc/umzug/known_hosts"
}
host "dns_lg" {
  datacenter  = datacenter.lg
  address     = "10.2.0.53"
  user        = "migrate"
  agent       = true
  known_hosts = "/etc/umzug/known_hosts"
}

application "finance" {
  source = host.app_pb
  target = host.app_lg

  copy "app" {
    from = "/srv/finance"
    to   = "/srv/finance"
  }
  copy "db" {
    source = host.db_pb
    target = host.db_lg
    from   = "/var/lib/postgresql"
    to     = "/var/lib/postgresql"
  }

  cutover {
    approval {
      approvers = ["a.meier"]
    }
    parallel {
      step "stop_app" {
        on      = "source"
        run     = "systemctl stop finance"
        undo    = "systemctl start finance"
        timeout = "2m"
      }
      step "stop_db" {
        on      = host.db_pb
        run     = "systemctl stop postgresql"
        undo    = "systemctl start postgresql"
        timeout = "5m"
      }
    }
    final_sync {}
    step "start_db" {
      on   = host.db_lg
      run  = "systemctl start postgresql"
      undo = "systemctl stop postgresql"
    }
    step "switch_dns" {
      on   = host.dns_lg
      run  = "/usr/local/bin/switch finance lg"
      undo = "/usr/local/bin/switch finance pb"
    }
  }
}
