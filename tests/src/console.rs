//! A browser without a browser, for the web console's tests over real HTTP: it keeps the
//! cookies the server sets (following no redirect by itself, so that every `Set-Cookie` is
//! seen), reads the CSRF token of the last page, and posts forms as a browser would.

use std::collections::BTreeMap;

use crate::{TestResponse, TestServer};

/// A console visitor: its cookies and the last page it saw.
#[derive(Debug)]
pub struct ConsoleBrowser<'s> {
    base: String,
    runtime: tokio::runtime::Runtime,
    server: std::marker::PhantomData<&'s TestServer>,
    client: reqwest::Client,
    /// Every address requested, and every redirect's `Location`, in order (to check that no
    /// personal value is ever in a URL).
    pub urls: Vec<String>,
    /// The cookies held, by name.
    pub cookies: BTreeMap<String, String>,
    /// The `Set-Cookie` headers of every response, whole (to check their attributes).
    pub set_cookies: Vec<String>,
    /// The body of the last page read.
    pub last_page: String,
    /// The language sent as `Accept-Language` (`en` unless changed).
    pub accept_language: String,
}

/// The value of the hidden field `name` in `page` (the first one).
pub fn hidden_field(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].replace("&amp;", "&"))
}

impl<'s> ConsoleBrowser<'s> {
    /// A visitor with no cookies.
    pub fn new(server: &'s TestServer) -> Self {
        Self::at(&server.base_url())
    }

    /// A visitor of the server at `base` (`http://addr`), e.g. the real binary's.
    pub fn at(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("client runtime"),
            server: std::marker::PhantomData,
            urls: Vec::new(),
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("HTTP client"),
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
            last_page: String::new(),
            accept_language: "en".to_owned(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn send(
        &mut self,
        path: &str,
        build: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> TestResponse {
        self.urls.push(path.to_owned());
        let request = build(&self.client, &self.base);
        let response = self.runtime.block_on(async {
            let response = request.send().await.expect("request sent");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await.expect("body read").to_vec();
            TestResponse {
                status,
                headers,
                body,
            }
        });
        if let Some(location) = response.header("location") {
            self.urls.push(location.to_owned());
        }
        response
    }

    fn keep(&mut self, response: &TestResponse) {
        for value in response.headers.get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default().to_owned();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = text.to_ascii_lowercase().contains("max-age=0");
                if value.is_empty() || expired {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
            self.set_cookies.push(text);
        }
        if response
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
        {
            self.last_page = response.text();
        }
    }

    /// `GET path`, without following a redirect.
    pub fn get(&mut self, path: &str) -> TestResponse {
        let cookie = self.cookie_header();
        let language = self.accept_language.clone();
        let target = path.to_owned();
        let response = self.send(path, move |c, base| {
            c.get(format!("{base}{target}"))
                .header("cookie", cookie)
                .header("accept-language", language)
        });
        self.keep(&response);
        response
    }

    /// `GET path`, following redirects (at most 5) as a browser does.
    pub fn visit(&mut self, path: &str) -> TestResponse {
        let mut response = self.get(path);
        for _ in 0..5 {
            if !(300..400).contains(&response.status) {
                break;
            }
            let to = response
                .header("location")
                .expect("a redirect's location")
                .to_owned();
            response = self.get(&to);
        }
        response
    }

    /// `POST path` with `fields` as a form, exactly as given (no token added), without
    /// following a redirect.
    pub fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let cookie = self.cookie_header();
        let language = self.accept_language.clone();
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let target = path.to_owned();
        let response = self.send(path, move |c, base| {
            c.post(format!("{base}{target}"))
                .header("cookie", cookie)
                .header("accept-language", language)
                .form(&fields)
        });
        self.keep(&response);
        response
    }

    /// `POST path` with `fields` and the CSRF token of the last page read (`csrf`, or the
    /// sign-in forms' `form`), following the redirect that answers a form.
    pub fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let mut all: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if let Some(token) = hidden_field(&self.last_page, "csrf") {
            all.push(("csrf".to_owned(), token));
        } else if let Some(token) = hidden_field(&self.last_page, "form") {
            all.push(("form".to_owned(), token));
        }
        let borrowed: Vec<(&str, &str)> =
            all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let response = self.post_raw(path, &borrowed);
        if (300..400).contains(&response.status) {
            let to = response
                .header("location")
                .expect("a redirect's location")
                .to_owned();
            return self.visit(&to);
        }
        response
    }

    /// Signs in through the console's form (`otp` for an account with a second factor) and
    /// lands on the page the console sends the person to.
    pub fn sign_in(&mut self, email: &str, password: &str, otp: Option<&str>) -> TestResponse {
        let page = self.get("/console/sign-in");
        assert_eq!(page.status, 200, "the sign-in page");
        self.submit(
            "/console/sign-in",
            &[
                ("email", email),
                ("password", password),
                ("otp", otp.unwrap_or("")),
            ],
        )
    }
}
