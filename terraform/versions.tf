terraform {
  # 1.5: the startswith/endswith functions used in variable validations.
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
  }

  # State lives in a GCS bucket once more than one person or Jenkins applies.
  # Create the bucket (versioned, uniform access) first, then uncomment and run
  # `terraform init -migrate-state`. One prefix per environment, so dev and prod
  # never share a state file.
  #
  # backend "gcs" {
  #   bucket = "streamtrack-terraform-state"
  #   prefix = "gke/prod"
  # }
}
