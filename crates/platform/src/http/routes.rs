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
//! not REST operations (gRPC services), named where they are mounted.

use std::{collections::HashSet, fmt};

use axum::{Router, routing::MethodRouter};
use utoipa_axum::router::OpenApiRouter;

/// Route templates, matched as axum matches them.
#[derive(Clone, Default)]
pub struct RouteTemplates {
    table: matchit::Router<Box<str>>,
    /// The templates without parameters, found by a hash lookup first: about a third of what
    /// walking matchit's tree costs. matchit also prefers a static route to a parameter, so
    /// the answer is the same.
    statics: HashSet<Box<str>, foldhash::fast::RandomState>,
    listed: Vec<Box<str>>,
}

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
            let template = template.as_ref();
            if self.listed.iter().any(|listed| &**listed == template) {
                continue;
            }
            match self.table.insert(template, template.into()) {
                Ok(()) => {
                    if !template.contains('{') {
                        self.statics.insert(template.into());
                    }
                    self.listed.push(template.into());
                }
                Err(error) => tracing::error!(template, %error, "route template not matched: {error}"),
            }
        }
    }

    /// The paths of an OpenAPI document: the templates of every route it documents.
    pub fn of_document(document: &utoipa::openapi::OpenApi) -> Self {
        Self::new(document.paths.paths.keys())
    }

    /// The template that routes `path`, if any.
    pub fn find(&self, path: &str) -> Option<&str> {
        if let Some(template) = self.statics.get(path) {
            return Some(template);
        }
        self.table.at(path).ok().map(|found| &**found.value)
    }

    /// Every template, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.listed.iter().map(|template| &**template)
    }
}

impl fmt::Debug for RouteTemplates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
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
        self.templates.extend(other.templates.iter());
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
