//! The Kubernetes registration controller: `ClusterSPIFFEID` resources (CRD in
//! `k8s/base/crds/`) become registration entries for every matching running pod, parented
//! to the `k8s_psat` agent of the pod's node. One replica at a time (a Lease) writes, and
//! only entries marked as its own (`managed_by`).

mod apply;
mod controller;
mod desired;
mod diff;
mod kube_lease;
mod lease;
mod resource;
mod selector;
mod status;
mod template;

pub use apply::{Applied, ControllerStore, apply};
pub use controller::{Controller, ControllerError, api_resource};
pub use desired::{
    ClusterView, Desired, NodeView, PodView, Report, Settings, desired, entry_id, managed_by,
};
pub use diff::{Plan, plan};
pub use kube_lease::KubeLease;
pub use lease::{ElectionConfig, Elector, LeaseApi, LeaseError, LeaseRecord, Versioned, may_take};
pub use resource::{ClusterSpiffeIdSpec, GROUP, KIND, PLURAL, Resource, SpecError, Stats, VERSION};
pub use selector::{LabelSelector, LabelSelectorSpec, SelectorError};
pub use template::{RenderContext, RenderError, Template, TemplateError};
