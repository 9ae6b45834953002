// Package fleet is the fleet file format: a YAML document that names the
// accounts of a latchkey server and what each owns (access keys, RAM
// users and policies, ECS and BCC instances, E-HPC clusters), with their
// passwords and status. Parse reads and checks one; the products apply
// it (service.Registry.ApplyFleet). The demo fleet of PRODUCT.md §7 is
// one such document (Demo).
package fleet
