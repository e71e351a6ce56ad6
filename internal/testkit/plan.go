package testkit

// TwoHostsHCL is plan text for datacenter "a" with two hosts in it, h1
// and h2 (addresses "h1" and "h2", user "u", the SSH agent, known_hosts
// "/k"): what a plan declares before an application can move between two
// hosts, for tests that load plans but never connect. It starts with the
// datacenter block and ends with a newline, so it can be pasted between
// other blocks without moving their line numbers.
const TwoHostsHCL = `datacenter "a" {}
host "h1" {
  datacenter  = datacenter.a
  address     = "h1"
  user        = "u"
  agent       = true
  known_hosts = "/k"
}
host "h2" {
  datacenter  = datacenter.a
  address     = "h2"
  user        = "u"
  agent       = true
  known_hosts = "/k"
}
`
