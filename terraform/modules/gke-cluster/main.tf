# A GKE Standard cluster for StreamTrack: its own VPC-native network, private
# nodes that reach the internet only through Cloud NAT, and one autoscaled node
# pool. Standard rather than Autopilot because the Strimzi and Altinity
# operators run stateful brokers and ClickHouse whose placement (one Kafka
# broker per zone) and disk sizing we want to control per node pool.

locals {
  labels = merge(var.labels, { "managed-by" = "terraform" })
  # Network tag of the nodes, so firewall rules can target this cluster only.
  node_tag = "${var.name}-node"
  # A recurring window is anchored to a date; only its time of day matters.
  maintenance_start = "2026-01-01T${var.maintenance_start_time}:00Z"
}

# --- Network -----------------------------------------------------------------

resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = "${var.name}-vpc"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "nodes" {
  project       = var.project_id
  name          = "${var.name}-nodes"
  region        = var.region
  network       = google_compute_network.this.id
  ip_cidr_range = var.subnet_cidr

  # Private nodes have no external IP; this lets them reach Google APIs
  # (logging, monitoring, Artifact Registry) without going through NAT.
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = var.pods_cidr
  }

  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = var.services_cidr
  }

  # Flow logs are what we read when a NetworkPolicy drops traffic it should
  # not; sampling half the flows keeps their cost bounded under Kafka load.
  log_config {
    aggregation_interval = "INTERVAL_30_SEC"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Private nodes still pull images from ghcr.io and Docker Hub (Strimzi,
# Altinity, the Schema Registry), which only NAT makes reachable.
resource "google_compute_router" "this" {
  project = var.project_id
  name    = "${var.name}-router"
  region  = var.region
  network = google_compute_network.this.id
}

resource "google_compute_router_nat" "this" {
  project                            = var.project_id
  name                               = "${var.name}-nat"
  region                             = var.region
  router                             = google_compute_router.this.name
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.nodes.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  # Errors only: a failed translation (port exhaustion) is the thing to see.
  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# A private cluster's control plane may reach the nodes only on 443 and 10250
# (GKE's own rule). KEDA's external-metrics API server (6443) and its admission
# webhook (9443) are called by the control plane too; without this rule the
# worker ScaledObject never gets a metric and never scales.
resource "google_compute_firewall" "control_plane_to_keda" {
  project       = var.project_id
  name          = "${var.name}-control-plane-to-keda"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  source_ranges = [var.master_ipv4_cidr_block]
  target_tags   = [local.node_tag]

  allow {
    protocol = "tcp"
    ports    = ["6443", "9443"]
  }
}

# --- Node identity -------------------------------------------------------------

# The default Compute Engine service account has Editor on the project; a node
# needs only to write logs and metrics and read its own metadata.
resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${var.name}-nodes"
  display_name = "GKE nodes of ${var.name}"
}

# The role Google defines for exactly that (log writer, metric writer,
# monitoring viewer, resource metadata writer, autoscaling metrics writer).
# Workloads get their own identities through Workload Identity, not this one.
resource "google_project_iam_member" "nodes" {
  project = var.project_id
  role    = "roles/container.defaultNodeServiceAccount"
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

# --- Cluster -------------------------------------------------------------------

resource "google_container_cluster" "this" {
  # checkov:skip=CKV_GCP_65: Google Groups for RBAC needs a Google Workspace or Cloud Identity domain with a gke-security-groups group, which this project does not assume; access is granted per user and service account.
  # checkov:skip=CKV_GCP_69: the cluster keeps no node pool of its own (remove_default_node_pool); the GKE metadata server is set on google_container_node_pool.default, which passes this check.
  # checkov:skip=CKV_GCP_66: Binary Authorization enforces attestations that the Jenkins pipeline does not produce yet; with the default allow-all policy it would only look enforced.
  project  = var.project_id
  name     = var.name
  location = var.region # regional: three control-plane replicas, upgrades without API downtime

  # The node pool is its own resource so it can be changed or replaced without
  # touching the cluster; the default pool only exists because the API needs one.
  remove_default_node_pool = true
  initial_node_count       = 1

  network         = google_compute_network.this.id
  subnetwork      = google_compute_subnetwork.nodes.id
  networking_mode = "VPC_NATIVE"

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  # Dataplane V2 (eBPF) enforces the NetworkPolicies that k8s/ ships, and logs
  # their decisions. The Calico add-on is off because GKE refuses both at once.
  datapath_provider = "ADVANCED_DATAPATH"

  network_policy {
    enabled = false
  }

  # Same-node pod traffic (a worker and the broker it reads from) shows up in
  # the subnetwork's flow logs too.
  enable_intranode_visibility = true

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false # Jenkins and operators reach the API over the authorized networks below
    master_ipv4_cidr_block  = var.master_ipv4_cidr_block
  }

  master_authorized_networks_config {
    gcp_public_cidrs_access_enabled = false

    dynamic "cidr_blocks" {
      for_each = var.master_authorized_networks
      content {
        cidr_block   = cidr_blocks.value.cidr_block
        display_name = cidr_blocks.value.display_name
      }
    }
  }

  release_channel {
    channel = var.release_channel
  }

  # Four hours every day: GKE needs at least 48 hours of window per 32 days,
  # which a weekend-only window of that length would not give.
  maintenance_policy {
    recurring_window {
      start_time = local.maintenance_start
      end_time   = timeadd(local.maintenance_start, "4h")
      recurrence = "FREQ=DAILY"
    }
  }

  # Pods get Google credentials by Kubernetes service account, never from the
  # node's identity.
  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  enable_shielded_nodes = true
  enable_legacy_abac    = false

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
  }

  # Managed Prometheus scrapes the API's and workers' prom-client metrics via
  # PodMonitoring resources, without running a Prometheus server ourselves.
  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS"]

    managed_prometheus {
      enabled = true
    }
  }

  resource_labels     = local.labels
  deletion_protection = var.deletion_protection

  depends_on = [google_project_iam_member.nodes]
}

# --- Node pool -----------------------------------------------------------------

# Sized for the whole stack at its peak: the API at 20 pods x 250m/256Mi (5 CPU,
# 5 GiB), 12 workers x 500m/512Mi (6 CPU, 6 GiB), 3 Kafka brokers (about 3 CPU,
# 6-12 GiB), ClickHouse (about 2 CPU, 4-8 GiB), the Schema Registry and the
# operators (about 1 CPU, 1-2 GiB): about 17 CPU and 30 GiB requested. An
# e2-standard-4 has about 3.9 CPU and 13 GiB allocatable, less about 0.4 CPU of
# GKE daemons, so 6 nodes carry the peak and the default maximum of 9 leaves
# room for a surge node and for pods that cannot share a zone.
resource "google_container_node_pool" "default" {
  project  = var.project_id
  name     = "${var.name}-pool"
  location = var.region
  cluster  = google_container_cluster.this.name

  node_locations = length(var.node_locations) > 0 ? var.node_locations : null

  # Per zone, only at creation; the autoscaler owns the count afterwards.
  initial_node_count = 1

  autoscaling {
    # Totals across zones, so the numbers mean what they say whatever the zone count.
    total_min_node_count = var.node_count.min
    total_max_node_count = var.node_count.max
    location_policy      = "BALANCED"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  # One extra node at a time and none taken away before its replacement is
  # ready: Kafka's and ClickHouse's PodDisruptionBudgets allow one broker or
  # replica down, and a drained node must have somewhere to go.
  upgrade_settings {
    strategy        = "SURGE"
    max_surge       = var.upgrade_surge.max_surge
    max_unavailable = var.upgrade_surge.max_unavailable
  }

  node_config {
    machine_type = var.machine_type
    image_type   = "COS_CONTAINERD"
    disk_type    = "pd-balanced"
    disk_size_gb = var.disk_size_gb

    service_account = google_service_account.nodes.email
    # Access is decided by the service account's IAM roles; scopes are a
    # legacy second gate that Google recommends leaving at cloud-platform.
    oauth_scopes = ["https://www.googleapis.com/auth/cloud-platform"]

    labels          = local.labels
    resource_labels = local.labels
    tags            = [local.node_tag]

    metadata = {
      disable-legacy-endpoints = "true"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }

  lifecycle {
    # The autoscaler changes the size; Terraform must not fight it.
    ignore_changes = [initial_node_count]
  }
}
