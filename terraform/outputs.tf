output "cluster_name" {
  description = "Name of the GKE cluster."
  value       = module.gke.name
}

output "endpoint" {
  description = "Control-plane endpoint IP (reachable only from master_authorized_networks)."
  value       = module.gke.endpoint
  sensitive   = true
}

output "location" {
  description = "Region of the regional cluster."
  value       = module.gke.location
}

output "workload_identity_pool" {
  description = "Workload Identity pool for binding Google service accounts to Kubernetes ones."
  value       = module.gke.workload_identity_pool
}

output "kubectl_config_command" {
  description = "Adds this cluster to ~/.kube/config (needs gcloud and gke-gcloud-auth-plugin); the starting point of Jenkins' kubeconfig-<environment> credential."
  value       = "gcloud container clusters get-credentials ${module.gke.name} --region ${module.gke.location} --project ${var.project_id}"
}
