# Copy-set faults: unknown refusal kinds, and copy targets that are equal
# or nested on one target host, within an application or across two.

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

# Another name for the machine h2 points at.
host "h2_alias" {
  datacenter  = datacenter.a
  address     = "h2:22"
  user        = "m"
  agent       = true
  known_hosts = "/kh"
}

application "shop" {
  source = host.h1
  target = host.h2

  copy "db" {
    from            = "/srv/db"
    to              = "/srv/shop"      # want error "Overlapping copy targets"
    accept_refusals = ["sockets", "fifo", "fifo"] # want error "Unknown refusal kind" # want warning "Duplicate refusal kind"
  }
  copy "media" {
    from            = "/srv/media"
    to              = "/srv/shop/media/" # want error "Overlapping copy targets"
    accept_refusals = ["socket"]
  }
  copy "logs" {
    from            = "/var/log/shop"
    to              = "/var/log/shop" # want error "Overlapping copy targets"
    accept_refusals = ["fifo", "fifo"] # want warning "Duplicate refusal kind"
  }

  cutover {
    approval {
      approvers = ["a.meier"]
    }
    final_sync {}
  }
}

application "blog" {
  source = host.h1
  target = host.h2_alias

  copy "www" {
    from = "/srv/www"
    to   = "/var/log" # want error "Overlapping copy targets"
  }

  cutover {
    approval {
      approvers = ["a.meier"]
    }
    final_sync {}
  }
}

# Same paths on another target host do not overlap.
application "blog_copy" {
  source = host.h2
  target = host.h1

  copy "www" {
    from = "/srv/www"
    to   = "/var/log"
  }

  cutover {
    approval {
      approvers = ["a.meier"]
    }
    final_sync {}
  }
}
