# Every input a person sets in terraform.tfvars. Each rule on a value the
# module takes is the module's own (modules/gke-cluster/variables.tf), checked
# there once; `environment` is the root's alone.
variable "project_id" {
  description = "GCP project to create the cluster in."
  type        = string
}

variable "region" {
  description = "Region of the regional cluster, its subnetwork and Cloud NAT (e.g. europe-west1)."
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Which StreamTrack environment this cluster serves; names the cluster streamtrack-<environment> and matches k8s/overlays/<environment>."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "subnet_cidr" {
  description = "Primary range of the subnetwork (node IPs)."
  type        = string
  default     = "10.10.0.0/20"
}

variable "pods_cidr" {
  description = "Secondary range for pod IPs (VPC-native); a /16 fits 256 nodes at GKE's default /24 per node."
  type        = string
  default     = "10.20.0.0/16"
}

variable "services_cidr" {
  description = "Secondary range for ClusterIP Service IPs."
  type        = string
  default     = "10.30.0.0/20"
}

variable "master_ipv4_cidr_block" {
  description = "The /28 for the Google-managed control plane; must not overlap the ranges above."
  type        = string
  default     = "172.16.0.0/28"
}

variable "master_authorized_networks" {
  description = "CIDR blocks allowed to reach the control plane: your office or VPN egress and the Jenkins agents' egress IPs."
  type = list(object({
    cidr_block   = string
    display_name = string
  }))
}

variable "release_channel" {
  description = "GKE release channel (RAPID, REGULAR, STABLE). Dev on REGULAR sees a version before prod on STABLE does."
  type        = string
  default     = "REGULAR"
}

variable "maintenance_start_time" {
  description = "Start (UTC, HH:MM) of the daily 4-hour window in which GKE may upgrade the cluster."
  type        = string
  default     = "03:00"
}

variable "deletion_protection" {
  description = "Refuse to destroy or replace the cluster. Set false only for a dev cluster you mean to tear down."
  type        = bool
  default     = true
}

variable "node_locations" {
  description = "Zones of the node pool (e.g. one zone for a cheap dev cluster). Empty: three zones chosen by GKE."
  type        = list(string)
  default     = []
}

variable "machine_type" {
  description = "Machine type of the nodes."
  type        = string
  default     = "e2-standard-4"
}

variable "disk_size_gb" {
  description = "Boot disk per node in GB (Kafka and ClickHouse data are on PersistentVolumes, not here)."
  type        = number
  default     = 100
}

variable "node_count" {
  description = "Autoscaling bounds of the node pool, in nodes across all zones. 3 keeps one Kafka broker per zone; 9 covers the API and workers at their maximum replicas (see the module's sizing note)."
  type = object({
    min = number
    max = number
  })
  default = {
    min = 3
    max = 9
  }
}

variable "upgrade_surge" {
  description = "Surge upgrade of the node pool: nodes added during an upgrade, and nodes that may be unavailable at once."
  type = object({
    max_surge       = number
    max_unavailable = number
  })
  default = {
    max_surge       = 1
    max_unavailable = 0
  }
}
