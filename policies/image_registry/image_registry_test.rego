package planguard.rules.image_registry_test

import data.planguard.rules.image_registry
import rego.v1

environments := {
	"dev": {"registries": []},
	"prod": {"registries": ["registry.prod.salam.internal/", "mirror.prod.salam.internal/"]},
}

prod_plan := {"kind": "plan", "environment": "prod"}

test_image_from_another_registry_is_denied if {
	findings := image_registry.deny with input as {"image": {"ref": "registry.uat.salam.internal/salam/ingestion:1.2.1"}}
		with data.planguard.file as prod_plan
		with data.planguard.environments as environments
	count(findings) == 1
	some f in findings
	f.rule == "PG106"
	f.location == ["image", "ref"]
}

test_config_image_from_another_registry_is_denied if {
	findings := image_registry.deny with input as {"spark": {"image": "docker.io/salam/ingestion:1.2.1"}}
		with data.planguard.file as {"kind": "config", "environment": "prod"}
		with data.planguard.environments as environments
	some f in findings
	f.rule == "PG106"
	f.location == ["spark", "image"]
}

test_every_configured_registry_is_allowed if {
	count(image_registry.deny) == 0 with input as {"image": {"ref": "registry.prod.salam.internal/salam/ingestion:1.2.1"}}
		with data.planguard.file as prod_plan
		with data.planguard.environments as environments
	count(image_registry.deny) == 0 with input as {"image": {"ref": "mirror.prod.salam.internal/salam/ingestion:1.2.1"}}
		with data.planguard.file as prod_plan
		with data.planguard.environments as environments
}

test_no_registries_means_no_check if {
	count(image_registry.deny) == 0 with input as {"image": {"ref": "docker.io/salam/ingestion:1.2.1"}}
		with data.planguard.file as {"kind": "plan", "environment": "dev"}
		with data.planguard.environments as environments
}

test_document_without_image_passes if {
	count(image_registry.deny) == 0 with input as {"namespace": "ingestion-prod"}
		with data.planguard.file as prod_plan
		with data.planguard.environments as environments
}
