//! Which Temporal frontend a deploy command talks to for an environment, and
//! how, decided here once for apply, drift, rollback, trigger and status.
//! Each setting is taken from the first layer that has it: flags, then the
//! `TEMPORAL_*` variables (clap reads both into [`Requested`]), then
//! planguard.toml `[environments.<env>]`, then the Temporal CLI profile
//! (temporal.toml, through temporalio-client's envconfig), then the defaults.
//! An environment that requires auth is never reached in plain text unless
//! the operator says `--insecure`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use temporalio_common::envconfig::{
    ClientConfigProfile, ConfigError, DataSource, LoadClientConfigProfileOptions,
    load_client_config_profile,
};

use super::temporal::{Client, Endpoint, Pem, TemporalError, Tls};
use crate::settings::Environment;

/// Where a deploy command connects when nothing says otherwise.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:7233";

/// The variable the API key is read from when no `--api-key-env` names another.
pub const API_KEY_VARIABLE: &str = "TEMPORAL_API_KEY";

/// The variable that names a namespace for the whole run (see [`namespace_override`]).
pub const NAMESPACE_VARIABLE: &str = "TEMPORAL_NAMESPACE";

/// What the command line asked for: each flag, or the `TEMPORAL_*` variable
/// under it, as clap read them; None where neither was given.
#[derive(Debug, Clone, Default)]
pub struct Requested {
    pub address: Option<String>,
    pub tls: Option<bool>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_ca: Option<PathBuf>,
    pub tls_server_name: Option<String>,
    /// `--api-key-env`: the variable holding the API key.
    pub api_key_env: Option<String>,
    /// `--profile` or TEMPORAL_PROFILE.
    pub profile: Option<String>,
    /// Connect in plain text even where the environment requires auth.
    pub insecure: bool,
}

/// A variable's value, when it is set and not empty.
fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The Temporal CLI profile: `profile` names it (else `default`, which may
/// be absent); the file is TEMPORAL_CONFIG_FILE's or the default
/// temporal.toml. Only the file is read here: the variables are a layer of
/// their own, above planguard.toml.
fn profile(name: Option<&str>) -> Result<ClientConfigProfile, TemporalError> {
    let options = LoadClientConfigProfileOptions::builder()
        .maybe_config_file_profile(name.map(str::to_string))
        .disable_env(true)
        .build();
    load_client_config_profile(options, None).map_err(|e| {
        let file = variable("TEMPORAL_CONFIG_FILE").map_or_else(
            || "the default temporal.toml".to_string(),
            |f| f.to_string(),
        );
        let reason = match e {
            ConfigError::ProfileNotFound(name) => format!("it has no profile `{name}`"),
            ConfigError::InvalidConfig(reason) => reason,
            // A parse error quotes the file, which may hold an API key:
            // say what failed, not what the line says.
            ConfigError::LoadError(cause) => match cause.downcast_ref::<std::io::Error>() {
                Some(io) => format!("cannot read it: {io}"),
                None => "it is not a valid Temporal CLI configuration".to_string(),
            },
        };
        TemporalError::Profile { file, reason }
    })
}

fn pem_of(source: DataSource) -> Option<Pem> {
    match source {
        DataSource::Path(path) => Some(Pem::Path(PathBuf::from(path))),
        DataSource::Data(data) => Some(Pem::Data(data)),
        _ => None,
    }
}

/// How to reach `environment`'s frontend (None: a run that concerns no
/// known environment, e.g. a namespace that no environment owns).
pub fn endpoint(
    requested: &Requested,
    environment: Option<&Environment>,
) -> Result<Endpoint, TemporalError> {
    let settings = environment.map(|e| &e.connection);
    let profile_name = requested
        .profile
        .clone()
        .or_else(|| settings.and_then(|s| s.profile.clone()));
    let profile = profile(profile_name.as_deref())?;
    let profile_tls = profile.tls.clone();

    // The API key: the variable --api-key-env names, TEMPORAL_API_KEY, the
    // variable planguard.toml names, the profile's.
    let settings_key_variable = settings.and_then(|s| s.api_key_env.clone());
    let api_key = match &requested.api_key_env {
        Some(name) => variable(name),
        None => variable(API_KEY_VARIABLE)
            .or_else(|| settings_key_variable.as_deref().and_then(variable))
            .or_else(|| profile.api_key.clone().filter(|k| !k.is_empty())),
    };

    let address = requested
        .address
        .clone()
        .or_else(|| settings.and_then(|s| s.address.clone()))
        .or_else(|| {
            profile.address.as_deref().map(|a| {
                a.trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .to_string()
            })
        })
        .unwrap_or_else(|| DEFAULT_ADDRESS.to_string());

    let path = |p: &PathBuf| Pem::Path(p.clone());
    let client_cert = requested
        .tls_cert
        .as_ref()
        .map(path)
        .or_else(|| settings.and_then(|s| s.tls_cert.as_ref()).map(path))
        .or_else(|| {
            profile_tls
                .as_ref()
                .and_then(|t| t.client_cert.clone())
                .and_then(pem_of)
        });
    let client_key = requested
        .tls_key
        .as_ref()
        .map(path)
        .or_else(|| settings.and_then(|s| s.tls_key.as_ref()).map(path))
        .or_else(|| {
            profile_tls
                .as_ref()
                .and_then(|t| t.client_key.clone())
                .and_then(pem_of)
        });
    let server_ca = requested
        .tls_ca
        .as_ref()
        .map(path)
        .or_else(|| settings.and_then(|s| s.tls_ca.as_ref()).map(path))
        .or_else(|| {
            profile_tls
                .as_ref()
                .and_then(|t| t.server_ca_cert.clone())
                .and_then(pem_of)
        });
    let server_name = requested
        .tls_server_name
        .clone()
        .or_else(|| settings.and_then(|s| s.tls_server_name.clone()))
        .or_else(|| profile_tls.as_ref().and_then(|t| t.server_name.clone()));
    let tls = Tls {
        client_cert,
        client_key,
        server_ca,
        server_name,
    };
    let said = requested
        .tls
        .or_else(|| settings.and_then(|s| s.tls))
        .or_else(|| profile_tls.as_ref().map(|t| t.disabled != Some(true)));
    let material = tls.client_cert.is_some()
        || tls.client_key.is_some()
        || tls.server_ca.is_some()
        || tls.server_name.is_some();
    // A bearer token never travels in plain text: an API key turns TLS on,
    // as the temporal CLI does.
    let wants_tls = said.unwrap_or(material) || api_key.is_some();

    if let Some(environment) = environment
        && environment.require_auth
        && !wants_tls
        && !requested.insecure
    {
        let unset = settings_key_variable
            .filter(|name| variable(name).is_none())
            .map(|name| format!(" ({name}, which api-key-env names, is not set)"))
            .unwrap_or_default();
        return Err(TemporalError::PlaintextRefused {
            environment: environment.name.clone(),
            address,
            unset,
        });
    }
    Ok(Endpoint {
        address,
        api_key,
        tls: wants_tls.then_some(tls),
    })
}

/// A client of `environment`'s frontend, in `namespace`: the one way apply,
/// drift, rollback, trigger and status open one.
pub fn client(
    requested: &Requested,
    environment: Option<&Environment>,
    namespace: &str,
) -> Result<Client, TemporalError> {
    Client::connect(&endpoint(requested, environment)?, namespace)
}

/// The namespace a run is sent to instead of its plans' own: `--namespace`,
/// else TEMPORAL_NAMESPACE when the run concerns one environment. Over
/// several environments the variable would send them all to one namespace,
/// so it is ignored, and the second value says so (for the log).
pub fn namespace_override(
    flag: Option<String>,
    environments: &BTreeSet<String>,
) -> (Option<String>, Option<String>) {
    if flag.is_some() {
        return (flag, None);
    }
    let Some(value) = variable(NAMESPACE_VARIABLE) else {
        return (None, None);
    };
    if environments.len() <= 1 {
        (Some(value), None)
    } else {
        let names: Vec<&str> = environments.iter().map(String::as_str).collect();
        (
            None,
            Some(format!(
                "{NAMESPACE_VARIABLE} is ignored: this run concerns {} environments ({}), each compared in its own namespace",
                names.len(),
                names.join(", ")
            )),
        )
    }
}

/// The namespace override of a run that concerns one environment (apply,
/// rollback, trigger): `--namespace`, else TEMPORAL_NAMESPACE.
pub fn namespace_of_one_environment(flag: Option<String>) -> Option<String> {
    namespace_override(flag, &BTreeSet::new()).0
}
