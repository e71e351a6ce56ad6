# Identity faults: names PRECIS UsernameCaseMapped refuses (invisible
# code points) and names that look like another name of the plan (same
# UTS #39 skeleton), within one list or across lists and applications.

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

application "shop" {
  source = host.h1
  target = host.h2

  copy "db" {
    from = "/srv/db"
    to   = "/srv/db"
  }

  cutover {
    approval {
      approvers = [
        "a.meier",
        "а.meier", # want error "Look-alike identities"
        "b.schulz",
        "c.yil\u200bmaz", # want error "Invalid identity"
      ]
      operators = ["b.schulz", "B.Schulz"] # want error "Duplicate operator"
    }
    final_sync {}
  }
}

application "blog" {
  source = host.h1
  target = host.h2

  copy "www" {
    from = "/srv/www"
    to   = "/srv/www"
  }

  cutover {
    approval {
      approvers = ["a.meier", "b.schu1z"] # want error "Look-alike identities"
    }
    final_sync {}
  }
}
