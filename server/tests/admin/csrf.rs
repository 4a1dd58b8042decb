//! The CSRF token in the admin pages' forms: it travels in the `nabd_csrf` cookie the sign-in
//! sets, every form of a page carries it, and pages with many forms all answer under load.

use super::*;

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn signing_in_sets_the_token_cookie_beside_the_session_and_signing_out_clears_both() {
    let app = start().await;
    let response = app.sign_in("manager", "correct horse battery").await;
    let cookies = set_cookies(&response);
    let body: Value = response.json().await.expect("json");
    let csrf = body["csrf"].as_str().expect("csrf");
    let token_cookie = cookies
        .iter()
        .find(|c| c.starts_with("nabd_csrf="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(
        token_cookie.starts_with(&format!("nabd_csrf={csrf};")),
        "{token_cookie}"
    );
    assert!(
        !token_cookie.contains("HttpOnly"),
        "the page reads it: {token_cookie}"
    );
    assert!(token_cookie.contains("SameSite=Lax"), "{token_cookie}");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("nabd_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");

    let both = format!(
        "{}; nabd_csrf={csrf}",
        session.split(';').next().expect("pair")
    );
    let out = app
        .client
        .post(app.url("/api/v1/admin/sign-out"))
        .header("cookie", &both)
        .header("origin", &app.base)
        .header("x-csrf-token", csrf)
        .send()
        .await
        .expect("sign out");
    let cleared = set_cookies(&out);
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("nabd_csrf=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("nabd_session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
}

#[tokio::test]
async fn every_form_of_a_page_carries_the_token_even_for_a_session_without_its_cookie() {
    let app = start().await;
    let session = app.session("manager", "correct horse battery").await;
    for number in ["0501111111", "0502222222", "0503333333"] {
        app.post(
            "/api/v1/admin/exclusions",
            Some(&session),
            json!({ "mobile": number }),
        )
        .await;
    }
    let field = format!("name=\"csrf\" value=\"{}\"", session.csrf);
    // With the token's cookie, as a browser that signed in has it.
    let html = app
        .client
        .get(app.url("/en/admin/exclusions"))
        .header(
            "cookie",
            format!("{}; nabd_csrf={}", session.cookie, session.csrf),
        )
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    // The add form, the import form and one restore form per number.
    assert!(html.matches(&field).count() >= 5, "{html}");
    assert!(
        !html.contains("name=\"csrf\" value=\"\""),
        "no form without the token"
    );
    // A session opened before Nabd set the cookie: the page still carries it, and sets it.
    let response = app.get("/en/admin/exclusions", Some(&session)).await;
    let cookies = set_cookies(&response);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("nabd_csrf={};", session.csrf))),
        "{cookies:?}"
    );
    let html = response.text().await.expect("html");
    assert!(html.matches(&field).count() >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_pages_with_many_forms_all_answer_under_concurrent_load() {
    let app = start().await;
    let session = app.session("manager", "correct horse battery").await;
    for n in 0..20 {
        app.post(
            "/api/v1/admin/exclusions",
            Some(&session),
            json!({ "mobile": format!("050{:07}", 3_000_000 + n) }),
        )
        .await;
    }
    let cookie = format!("{}; nabd_csrf={}", session.cookie, session.csrf);
    let pages = [
        "/en/admin/exclusions",
        "/ar/admin/exclusions",
        "/en/admin/messages",
        "/en/admin/broadcasts",
        "/en/marketing-report",
        "/en/admin/inbox",
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..40 {
        for page in pages {
            let client = app.client.clone();
            let url = app.url(page);
            let cookie = cookie.clone();
            tasks.spawn(async move {
                let answer = tokio::time::timeout(
                    std::time::Duration::from_secs(20),
                    client.get(&url).header("cookie", cookie).send(),
                )
                .await;
                match answer {
                    Ok(Ok(response)) => (round, url, response.status().as_u16()),
                    Ok(Err(error)) => panic!("{url}: {error}"),
                    Err(_) => (round, url, 0),
                }
            });
        }
        // Twenty at a time.
        while tasks.len() >= 20 {
            let (round, url, status) = tasks.join_next().await.expect("task").expect("joined");
            assert_eq!(
                status, 200,
                "round {round}: {url} (0: no answer within 20 s)"
            );
        }
    }
    while let Some(done) = tasks.join_next().await {
        let (round, url, status) = done.expect("joined");
        assert_eq!(
            status, 200,
            "round {round}: {url} (0: no answer within 20 s)"
        );
    }
}
