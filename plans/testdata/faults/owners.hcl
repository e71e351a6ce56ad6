# Owner faults: an owners mode and a selinux choice that do not exist,
# owner_map entries that are neither ids nor names, and names as keys
# where owners are numeric.

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

application "fin" { # want warning "No cutover"
  source = host.h1
  target = host.h2

  copy "share" {
    from      = "/srv/share"
    to        = "/srv/share"
    owners    = "names" # want error "Invalid owners"
    selinux   = "copy"  # want error "Invalid selinux"
    owner_map = { "fin" = "fin:x" } # want error "Invalid owner_map"
  }
  copy "db" {
    from      = "/srv/db"
    to        = "/srv/db"
    owners    = "numeric"
    owner_map = { "2101" = "2102", "lohn" = "fin" } # want error "Invalid owner_map"
  }
  copy "ok" {
    from      = "/srv/ok"
    to        = "/srv/ok"
    owner_map = { "2101" = "fin", "oldname" = "newname" }
    selinux   = "keep"
  }
}
