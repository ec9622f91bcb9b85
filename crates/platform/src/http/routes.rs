//! A router together with the templates of its routes (`/api/v1/patients/{id}`), so that the
//! platform's services can name a request's route from outside the router.
//!
//! Why from outside: `Router::layer` wraps every route in a second routing level of its own, a
//! boxed service cloned and called on every request; on `/health/live` that level alone cost
//! about 1,000 instructions per request (BENCHMARKS.md). The platform's services therefore
//! wrap the whole router once ([`super::middleware::apply`]), where axum's `MatchedPath` is not
//! set yet. [`RouteTemplates`] finds the same template with the same matcher axum routes with
//! (`matchit`), fed with the same templates: the OpenAPI document's paths, which list every
//! mounted route (the server's OpenAPI tests hold the two to each other), plus routes that are
//! not REST operations (gRPC services), named where they are mounted. The same document says
//! which routes raise the platform's body cap and deadline ([`super::limits`]): the edge reads
//! them from the route it finds anyway.

use std::{collections::HashMap, fmt};

use axum::{Router, http::Method, routing::MethodRouter};
use utoipa_axum::router::OpenApiRouter;

use super::limits::RouteLimits;
use crate::openapi;

/// Route templates, matched as axum matches them, with the limits of the routes that raise the
/// platform's ([`super::limits`]).
#[derive(Clone, Default)]
pub struct RouteTemplates {
    table: matchit::Router<RouteId>,
    /// The templates without parameters, found by a hash lookup first: about a third of what
    /// walking matchit's tree costs. matchit also prefers a static route to a parameter, so
    /// the answer is the same.
    statics: HashMap<Box<str>, RouteId, foldhash::fast::RandomState>,
    /// Every template, in the order added; a [`RouteId`] is an index here.
    listed: Vec<Listed>,
}

/// One template and the limits its methods raise (none, for nearly every route).
#[derive(Clone)]
struct Listed {
    template: Box<str>,
    limits: Vec<(Method, RouteLimits)>,
}

/// A template of a [`RouteTemplates`], found once per request by the edge, which reads the
/// route's limits and later its template (for the access line and the metrics) from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RouteId(u32);

impl RouteTemplates {
    /// The templates of `templates`.
    pub fn new<T: AsRef<str>>(templates: impl IntoIterator<Item = T>) -> Self {
        let mut table = Self::default();
        table.extend(templates);
        table
    }

    /// Adds `templates`. A template axum refused to mount (a conflict) is logged and skipped,
    /// which only happens when the list and the router disagree.
    pub fn extend<T: AsRef<str>>(&mut self, templates: impl IntoIterator<Item = T>) {
        for template in templates {
            self.add(template.as_ref());
        }
    }

    /// Adds `template` unless listed already; its id either way, `None` for one refused.
    fn add(&mut self, template: &str) -> Option<RouteId> {
        if let Some(index) = self.listed.iter().position(|listed| &*listed.template == template) {
            return Some(RouteId(index as u32));
        }
        let id = RouteId(u32::try_from(self.listed.len()).ok()?);
        match self.table.insert(template, id) {
            Ok(()) => {
                if !template.contains('{') {
                    self.statics.insert(template.into(), id);
                }
                self.listed.push(Listed { template: template.into(), limits: Vec::new() });
                Some(id)
            }
            Err(error) => {
                tracing::error!(template, %error, "route template not matched: {error}");
                None
            }
        }
    }

    /// The paths of an OpenAPI document: the templates of every route it documents, with the
    /// limits its operations raise ([`super::limits::raise`]).
    pub fn of_document(document: &utoipa::openapi::OpenApi) -> Self {
        let mut templates = Self::default();
        for (path, item) in &document.paths.paths {
            let Some(id) = templates.add(path) else { continue };
            for (method, operation) in openapi::operations_by_method(item) {
                if let Some(limits) = RouteLimits::of_operation(path, operation) {
                    templates.listed[id.0 as usize].limits.push((method, limits));
                }
            }
        }
        templates
    }

    /// Adds `other`'s templates, with their limits.
    pub fn merge(&mut self, other: &RouteTemplates) {
        for listed in &other.listed {
            if let Some(id) = self.add(&listed.template) {
                self.listed[id.0 as usize].limits.extend(listed.limits.iter().cloned());
            }
        }
    }

    /// The template that routes `path`, if any.
    pub fn find(&self, path: &str) -> Option<&str> {
        self.route_of(path).map(|id| self.template(id))
    }

    /// The limits a `method` request to `path` gets instead of the platform's, if its route
    /// raises them.
    pub fn limits_of(&self, method: &Method, path: &str) -> Option<RouteLimits> {
        self.limits(self.route_of(path)?, method)
    }

    /// The route that routes `path`, if any.
    pub(crate) fn route_of(&self, path: &str) -> Option<RouteId> {
        if let Some(id) = self.statics.get(path) {
            return Some(*id);
        }
        self.table.at(path).ok().map(|found| *found.value)
    }

    /// The template of `route`.
    pub(crate) fn template(&self, route: RouteId) -> &str {
        self.listed.get(route.0 as usize).map_or("", |listed| &listed.template)
    }

    /// The limits `route` raises for `method`, if any. One branch for a route without.
    #[inline]
    pub(crate) fn limits(&self, route: RouteId, method: &Method) -> Option<RouteLimits> {
        let limits = &self.listed.get(route.0 as usize)?.limits;
        if limits.is_empty() {
            return None;
        }
        limits.iter().find(|(raised, _)| raised == method).map(|(_, limits)| *limits)
    }

    /// Raises every route's limits to at least `floor` (the platform's): what the edge applies.
    pub(crate) fn at_least(&mut self, floor: RouteLimits) {
        for (_, limits) in self.listed.iter_mut().flat_map(|listed| listed.limits.iter_mut()) {
            *limits = limits.at_least(floor);
        }
    }

    /// Every template, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.listed.iter().map(|listed| &*listed.template)
    }
}

impl fmt::Debug for RouteTemplates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for listed in &self.listed {
            match listed.limits.as_slice() {
                [] => list.entry(&listed.template),
                limits => list.entry(&(&listed.template, limits)),
            };
        }
        list.finish()
    }
}

/// A router and the templates of every route it holds: what [`super::middleware::apply`]
/// serves.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    /// The routes.
    pub router: Router,
    /// Their templates.
    pub templates: RouteTemplates,
}

impl Routes {
    /// A router whose routes are not in an OpenAPI document (gRPC services), with their
    /// templates.
    pub fn unlisted<T: AsRef<str>>(router: Router, templates: impl IntoIterator<Item = T>) -> Self {
        Self { router, templates: RouteTemplates::new(templates) }
    }

    /// Routes built from `(template, handler)` pairs, so that each template is written once.
    pub fn from_pairs(routes: impl IntoIterator<Item = (&'static str, MethodRouter)>) -> Self {
        let mut built = Self::default();
        for (template, handler) in routes {
            built.router = built.router.route(template, handler);
            built.templates.extend([template]);
        }
        built
    }

    /// Both routers' routes, with both template lists.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.templates.merge(&other.templates);
        self
    }
}

impl From<OpenApiRouter> for Routes {
    /// Templates from the document's paths: every route of an `OpenApiRouter` is in it.
    fn from(api: OpenApiRouter) -> Self {
        let (router, document) = api.split_for_parts();
        Self { router, templates: RouteTemplates::of_document(&document) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_template_axum_would_route_by() {
        let templates = RouteTemplates::new([
            "/api/v1/patients",
            "/api/v1/patients/{id}",
            "/api/v1/patients/search",
            "/docs/{file}",
            "/c.S/{*rest}",
        ]);
        assert_eq!(templates.find("/api/v1/patients/search"), Some("/api/v1/patients/search"));
        assert_eq!(templates.find("/api/v1/patients/42"), Some("/api/v1/patients/{id}"));
        assert_eq!(templates.find("/api/v1/patients"), Some("/api/v1/patients"));
        assert_eq!(templates.find("/c.S/Add"), Some("/c.S/{*rest}"));
        assert_eq!(templates.find("/api/v1/patients/42/x"), None);
        assert_eq!(templates.find("/api/v1/patients/"), None, "axum does not route a trailing slash either");
        assert_eq!(templates.find("/nope"), None);
    }

    #[test]
    fn a_conflicting_or_repeated_template_is_listed_once() {
        let templates = RouteTemplates::new(["/a/{id}", "/a/{name}", "/a/{id}"]);
        assert_eq!(templates.iter().collect::<Vec<_>>(), ["/a/{id}"]);
    }

    #[test]
    fn pairs_and_merges_keep_router_and_templates_together() {
        let get = || axum::routing::get(|| async { "ok" });
        let routes =
            Routes::from_pairs([("/x", get()), ("/y/{id}", get())]).merge(Routes::unlisted(Router::new(), ["/z"]));
        assert_eq!(routes.templates.iter().collect::<Vec<_>>(), ["/x", "/y/{id}", "/z"]);
        assert_eq!(routes.templates.find("/y/7"), Some("/y/{id}"));
    }
}
