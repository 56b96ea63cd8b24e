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

pattern_env := {"prod": {"registries": [], "registry_pattern": "(^|[./_-])prod([./_-]|$)"}}

registry_findings(ref) := result if {
	result := image_registry.deny with input as {"image": {"ref": ref}}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as pattern_env
}

test_by_default_the_name_must_name_the_environment if {
	count(registry_findings("registry.dev.salam.internal/salam/ingestion@sha256:0123")) == 1
	count(registry_findings("registry.prod.salam.internal/salam/ingestion@sha256:0123")) == 0
	count(registry_findings("123456789.dkr.ecr.eu-west-1.amazonaws.com/ingestion-prod/app:1.8.2")) == 0
}

test_the_tag_and_digest_are_not_the_name if {
	count(registry_findings("registry.dev.salam.internal/salam/ingestion:prod")) == 1
	count(registry_findings("registry.dev.salam.internal:5000/salam/app")) == 1
}

test_a_word_not_a_substring if {
	count(registry_findings("registry.production.salam.internal/salam/ingestion:1.8.2")) == 1
	count(registry_findings("registry.reprod.salam.internal/salam/ingestion:1.8.2")) == 1
}

test_an_empty_pattern_allows_any_registry if {
	count(image_registry.deny) == 0 with input as {"image": {"ref": "docker.io/library/app:1.0.0"}}
		with data.planguard.file as {"kind": "plan", "environment": "prod"}
		with data.planguard.environments as {"prod": {"registries": [], "registry_pattern": ""}}
}
