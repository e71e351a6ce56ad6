# Variables and locals: missing values, undeclared names, cycles, validation.

variable "needed" { # want error "No value for required variable"
  type = string
}

variable "port" {
  type    = number
  default = "ssh" # want error "Invalid default value"
}

variable "region" { # want error "Invalid value for variable"
  type    = string
  default = "eu"
  validation {
    condition     = contains(["de", "at"], var.region)
    error_message = "region must be de or at."
  }
}

variable "region" { # want error "Duplicate variable \"region\""
  default = "de"
}

locals {
  a    = local.b # want error "Cycle in local values"
  b    = local.a
  root = "/srv/${local.rot}" # want error "Reference to undeclared local value"
  dir  = upper(host.x)       # want error "Reference not allowed here"
}

datacenter "a" {}

host "h1" {
  datacenter  = datacenter.a
  address     = "h1:22"
  user        = "m"
  agent       = true
  known_hosts = "/kh"
}

host "h2" {
  datacenter  = datacenter.a
  address     = "h2:22"
  user        = "m"
  agent       = true
  known_hosts = "/kh"
  jump        = host.h3 # want error "Jump cycle"
}

host "h3" {
  datacenter  = datacenter.a
  address     = "h3:22"
  user        = "m"
  agent       = true
  known_hosts = "/kh"
  jump        = host.h2
}

application "x" { # want warning "No cutover"
  source = host.h1
  target = host.h2
  copy "c" { # want error "Missing required argument"
    from = "/a"
  }
}
