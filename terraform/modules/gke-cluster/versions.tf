# A module states the providers it needs but never configures them: the root
# that calls it owns the project, region and credentials.
terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
  }
}
