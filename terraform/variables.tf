# Every input a person sets in terraform.tfvars. The module validates the same
# rules again, so it stays safe when called from elsewhere; here they fail
# first, pointing at the tfvars value.

variable "project_id" {
  description = "GCP project to create the cluster in."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the regional cluster, its subnetwork and Cloud NAT (e.g. europe-west1)."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+(-[a-z]+)+[0-9]+$", var.region))
    error_message = "region must look like a GCP region, e.g. europe-west1 or us-central1 (not a zone such as europe-west1-b)."
  }
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

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be a valid IPv4 CIDR block, e.g. 10.10.0.0/20."
  }
}

variable "pods_cidr" {
  description = "Secondary range for pod IPs (VPC-native); a /16 fits 256 nodes at GKE's default /24 per node."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrhost(var.pods_cidr, 0))
    error_message = "pods_cidr must be a valid IPv4 CIDR block, e.g. 10.20.0.0/16."
  }
}

variable "services_cidr" {
  description = "Secondary range for ClusterIP Service IPs."
  type        = string
  default     = "10.30.0.0/20"

  validation {
    condition     = can(cidrhost(var.services_cidr, 0))
    error_message = "services_cidr must be a valid IPv4 CIDR block, e.g. 10.30.0.0/20."
  }
}

variable "master_ipv4_cidr_block" {
  description = "The /28 for the Google-managed control plane; must not overlap the ranges above."
  type        = string
  default     = "172.16.0.0/28"

  validation {
    condition     = can(cidrhost(var.master_ipv4_cidr_block, 0)) && endswith(var.master_ipv4_cidr_block, "/28")
    error_message = "master_ipv4_cidr_block must be a valid IPv4 /28, e.g. 172.16.0.0/28."
  }
}

variable "master_authorized_networks" {
  description = "CIDR blocks allowed to reach the control plane: your office or VPN egress and the Jenkins agents' egress IPs."
  type = list(object({
    cidr_block   = string
    display_name = string
  }))

  validation {
    condition     = length(var.master_authorized_networks) > 0
    error_message = "master_authorized_networks needs at least one CIDR block, or neither you nor Jenkins can run kubectl."
  }

  validation {
    condition     = alltrue([for n in var.master_authorized_networks : can(cidrhost(n.cidr_block, 0))])
    error_message = "Every master_authorized_networks cidr_block must be a valid IPv4 CIDR block."
  }

  validation {
    condition     = alltrue([for n in var.master_authorized_networks : !startswith(n.cidr_block, "0.0.0.0/")])
    error_message = "master_authorized_networks must not contain 0.0.0.0/0: that makes the control plane public again."
  }
}

variable "release_channel" {
  description = "GKE release channel (RAPID, REGULAR, STABLE). Dev on REGULAR sees a version before prod on STABLE does."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "maintenance_start_time" {
  description = "Start (UTC, HH:MM) of the daily 4-hour window in which GKE may upgrade the cluster."
  type        = string
  default     = "03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_start_time))
    error_message = "maintenance_start_time must be HH:MM in 24-hour UTC, e.g. 03:00."
  }
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

  validation {
    condition     = alltrue([for z in var.node_locations : can(regex("^[a-z]+(-[a-z]+)+[0-9]+-[a-z]$", z))])
    error_message = "node_locations must be zones such as europe-west1-b."
  }
}

variable "machine_type" {
  description = "Machine type of the nodes."
  type        = string
  default     = "e2-standard-4"

  validation {
    condition     = can(regex("^[a-z0-9]+-[a-z0-9]+(-[0-9]+)?$", var.machine_type))
    error_message = "machine_type must be a Compute Engine machine type, e.g. e2-standard-4."
  }
}

variable "disk_size_gb" {
  description = "Boot disk per node in GB (Kafka and ClickHouse data are on PersistentVolumes, not here)."
  type        = number
  default     = 100

  validation {
    condition     = var.disk_size_gb >= 50 && var.disk_size_gb <= 2000
    error_message = "disk_size_gb must be between 50 and 2000."
  }
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

  validation {
    condition     = var.node_count.min >= 1 && floor(var.node_count.min) == var.node_count.min && floor(var.node_count.max) == var.node_count.max
    error_message = "node_count.min and node_count.max must be whole numbers and min at least 1."
  }

  validation {
    condition     = var.node_count.min <= var.node_count.max
    error_message = "node_count.min must be less than or equal to node_count.max."
  }

  validation {
    condition     = var.node_count.max <= 100
    error_message = "node_count.max must be at most 100; larger needs a wider pods_cidr."
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

  validation {
    condition     = var.upgrade_surge.max_surge >= 0 && var.upgrade_surge.max_unavailable >= 0
    error_message = "upgrade_surge values must not be negative."
  }

  validation {
    condition     = var.upgrade_surge.max_surge + var.upgrade_surge.max_unavailable > 0
    error_message = "upgrade_surge.max_surge and max_unavailable cannot both be 0: the upgrade could never progress."
  }
}
