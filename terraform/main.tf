# StreamTrack's Kubernetes cluster: one GKE Standard cluster per environment,
# into which k8s/overlays/<environment> is applied by the Jenkinsfile.

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  name = "streamtrack-${var.environment}"
}

# A new project has these APIs off. Left enabled on destroy: other resources
# in the project may depend on them.
resource "google_project_service" "required" {
  for_each = toset([
    "compute.googleapis.com",
    "container.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "gke" {
  source = "./modules/gke-cluster"

  project_id = var.project_id
  region     = var.region
  name       = local.name
  # On the cluster, the node VMs and as Kubernetes node labels: cost reports
  # and node selectors both see which environment a node belongs to.
  labels = { app = "streamtrack", environment = var.environment }

  subnet_cidr                = var.subnet_cidr
  pods_cidr                  = var.pods_cidr
  services_cidr              = var.services_cidr
  master_ipv4_cidr_block     = var.master_ipv4_cidr_block
  master_authorized_networks = var.master_authorized_networks

  release_channel        = var.release_channel
  maintenance_start_time = var.maintenance_start_time
  deletion_protection    = var.deletion_protection

  node_locations = var.node_locations
  machine_type   = var.machine_type
  disk_size_gb   = var.disk_size_gb
  node_count     = var.node_count
  upgrade_surge  = var.upgrade_surge

  depends_on = [google_project_service.required]
}
