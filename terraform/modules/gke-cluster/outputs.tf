output "name" {
  description = "Name of the GKE cluster."
  value       = google_container_cluster.this.name
}

output "location" {
  description = "Region of the (regional) cluster."
  value       = google_container_cluster.this.location
}

output "endpoint" {
  description = "IP address of the control plane's public endpoint (reachable only from master_authorized_networks)."
  value       = google_container_cluster.this.endpoint
  sensitive   = true
}

output "ca_certificate" {
  description = "Base64 cluster CA certificate, for a kubernetes or helm provider configured from this module."
  value       = google_container_cluster.this.master_auth[0].cluster_ca_certificate
  sensitive   = true
}

output "workload_identity_pool" {
  description = "Workload Identity pool; bind a Google service account to a Kubernetes one with member serviceAccount:POOL[NAMESPACE/KSA]."
  value       = google_container_cluster.this.workload_identity_config[0].workload_pool
}

output "node_service_account" {
  description = "Email of the nodes' least-privilege service account."
  value       = google_service_account.nodes.email
}

output "network_name" {
  description = "Name of the cluster's VPC (for firewall rules or peering added outside this module)."
  value       = google_compute_network.this.name
}

output "nat_router_name" {
  description = "Cloud Router carrying the NAT; its external IPs are what third parties see from the pods."
  value       = google_compute_router.this.name
}
