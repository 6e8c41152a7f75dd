// Package inventory records which objects plinth applied for an
// environment, in the cluster itself: a ConfigMap per environment in the
// namespace plinth-system. Prune deletes only what an inventory lists, and
// drift looks for objects carrying plinth's labels that it does not list.
//
// The inventory is written before the objects are (the union of the
// previous and the new set) and again after a successful apply and prune
// (the new set), so an apply interrupted at any point leaves an inventory
// that still names every object it may have created: the next apply
// prunes what is stale.
package inventory
