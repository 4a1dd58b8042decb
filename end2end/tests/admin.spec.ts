import { expect, test } from "@playwright/test";
import { PASSWORD, USER, signIn, watchConsole } from "./helpers";


for (const lang of ["en", "ar"] as const) {
  test(`sign in, see the report, search it and sign out (${lang})`, async ({ page }) => {
    const errors = watchConsole(page);
    await page.goto(`/${lang}/marketing-report`);
    await expect(page.locator("html")).toHaveAttribute("dir", lang === "ar" ? "rtl" : "ltr");
    // Anonymous: the report is refused, with a way to sign in.
    const notice = page.getByRole("alert");
    await expect(notice).toContainText(lang === "en" ? "Sign in to see this page." : "سجّل الدخول لعرض هذه الصفحة.");

    const wasm: string[] = [];
    page.on("request", (sent) => {
      if (sent.url().endsWith(".wasm")) wasm.push(new URL(sent.url()).pathname);
    });
    await page.goto(`/${lang}/admin/sign-in`);
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
    // The sign-in page's own code arrives as a file of its own, beside the main bundle.
    expect(wasm).toContain("/pkg/nabd.wasm");
    expect(wasm.some((path) => path.includes("split___sign_in_route_view"))).toBe(true);
    const username = page.getByLabel(lang === "en" ? "Username" : "اسم المستخدم");
    const password = page.getByLabel(lang === "en" ? "Password" : "كلمة المرور");
    await username.fill(USER);
    await password.fill("not the password");
    await page.getByRole("button", { name: lang === "en" ? "Sign in" : "دخول" }).click();
    await expect(page.getByRole("alert")).toHaveText(
      lang === "en" ? "Wrong username or password." : "اسم المستخدم أو كلمة المرور غير صحيحة.",
    );
    await expect(page).toHaveURL(new RegExp(`/${lang}/admin/sign-in`));

    await password.fill(PASSWORD);
    await page.getByRole("button", { name: lang === "en" ? "Sign in" : "دخول" }).click();
    await expect(page).toHaveURL(new RegExp(`/${lang}/marketing-report`));
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(lang === "en" ? "Campaign report" : "تقرير الحملة");
    await expect(page.locator(".report-card").first()).toBeVisible();
    await expect(page.locator(".total")).toContainText(lang === "en" ? "0 returned patients" : "٠");

    // The search lives in the URL.
    await page.getByLabel(lang === "en" ? "Search returned patients" : "البحث في المرضى العائدين").fill("Sara");
    await page.getByRole("button", { name: lang === "en" ? "Show" : "عرض" }).click();
    await expect(page).toHaveURL(/search=Sara/);
    await expect(page.locator(".none")).toBeVisible();

    await page.getByRole("button", { name: lang === "en" ? "Sign out" : "تسجيل الخروج" }).click();
    await expect(page).toHaveURL(new RegExp(`/${lang}/admin/sign-in`));
    await page.goto(`/${lang}/marketing-report`);
    await expect(page.getByRole("alert")).toBeVisible();
    // The refused password is the one failed request, answered 422 as it should be.
    expect(errors).toEqual([
      "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)",
    ]);
  });
}


for (const lang of ["en", "ar"] as const) {
  test(`add and restore an excluded number (${lang})`, async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page, lang);
    await page.getByRole("link", { name: lang === "en" ? "Do-not-contact list" : "قائمة عدم التواصل" }).click();
    await expect(page).toHaveURL(new RegExp(`/${lang}/admin/exclusions`));
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");

    const mobile = page.getByLabel(lang === "en" ? "Mobile" : "رقم الجوال", { exact: true });
    await mobile.fill("0501");
    await expect(page.locator(".form-hint")).toHaveText(
      lang === "en" ? "A mobile has at least 9 digits." : "رقم الجوال تسعة أرقام على الأقل.",
    );
    await mobile.fill("050 123 4567");
    await expect(page.locator(".form-hint")).toHaveCount(0);
    await page.getByLabel(lang === "en" ? "Reason (optional)" : "السبب (اختياري)").fill("asked at the desk");
    await page.getByRole("button", { name: lang === "en" ? "Add to the list" : "أضف إلى القائمة" }).click();
    await expect(page.locator(".form-ok")).toContainText("+966501234567");
    const row = page.locator(".exclusion-list tbody tr", { hasText: "+966501234567" });
    await expect(row).toContainText("asked at the desk");

    await row.getByRole("button", { name: lang === "en" ? "Restore" : "استعادة" }).click();
    await expect(page.locator(".exclusion-list tbody tr", { hasText: "+966501234567" })).toHaveCount(0);
    expect(errors).toEqual([]);
  });
}

for (const lang of ["en", "ar"] as const) {
  test(`the message log filters through the URL (${lang})`, async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page, lang);
    await page.getByRole("link", { name: lang === "en" ? "Message log" : "سجل الرسائل" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(lang === "en" ? "Message log" : "سجل الرسائل");
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
    await page.getByLabel(lang === "en" ? "State" : "الحالة").selectOption("uncertain");
    await page.getByRole("button", { name: lang === "en" ? "Filter" : "تصفية" }).click();
    await expect(page).toHaveURL(/state=uncertain/);
    await expect(page.locator(".none")).toHaveText(lang === "en" ? "No messages." : "لا توجد رسائل.");
    expect(errors).toEqual([]);
  });
}

/** A Saudi mobile (050, 053... 059: 051 and 052 are not mobile ranges) no earlier run used, so the daily contact budget never holds one back. */
function freshMobile(): string {
  const prefix = ["0", "3", "4", "5", "6", "8", "9"][Math.floor(Math.random() * 7)];
  return `05${prefix}${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;
}

function e164(local: string): string {
  return `+966${local.slice(1)}`;
}

for (const lang of ["en", "ar"] as const) {
  test(`broadcast to three numbers, leaving out an excluded one (${lang})`, async ({ page }) => {
    const errors = watchConsole(page);
    const [first, second, third, excluded] = [freshMobile(), freshMobile(), freshMobile(), freshMobile()];
    await signIn(page, lang);

    // One number goes on the do-not-contact list first.
    await page.goto(`/${lang}/admin/exclusions`);
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
    await page.getByLabel(lang === "en" ? "Mobile" : "رقم الجوال", { exact: true }).fill(excluded);
    await page.getByRole("button", { name: lang === "en" ? "Add to the list" : "أضف إلى القائمة" }).click();
    await expect(page.locator(".form-ok")).toContainText(e164(excluded));

    await page.getByRole("link", { name: lang === "en" ? "Broadcast" : "رسالة جماعية" }).click();
    await expect(page).toHaveURL(new RegExp(`/${lang}/admin/broadcasts$`));
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(
      lang === "en" ? "Broadcast a message" : "إرسال رسالة جماعية",
    );
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");

    const numbers = page.getByLabel(lang === "en" ? "Numbers (one per line, or separated by commas)" : "الأرقام (رقم في كل سطر، أو مفصولة بفواصل)");
    if (lang === "en") {
      // Two pasted, one from a CSV file exported with names beside the numbers.
      await numbers.fill(`${first}, ${excluded}\n${second}`);
      await expect(page.locator(".form-note").first()).toHaveText("Numbers pasted: 3");
      await page.getByLabel("Or choose a CSV file").setInputFiles({
        name: "patients.csv",
        mimeType: "text/csv",
        buffer: Buffer.from(`name,mobile\nSara,${third}\n`),
      });
      await expect(page.getByText("patients.csv · lines: 2")).toBeVisible();
    } else {
      await numbers.fill(`${first}\n${second}\n${third}\n${excluded}\n${first}`);
      await expect(page.locator(".form-note").first()).toHaveText("الأرقام الملصقة: ٥");
    }
    const text = lang === "en" ? "Our clinic opens on Friday this week." : "عيادتنا تفتح يوم الجمعة هذا الأسبوع.";
    await page.getByLabel(lang === "en" ? "Message" : "الرسالة", { exact: true }).fill(text);
    await expect(page.locator(".preview .bubble")).toHaveText(text);
    const count = lang === "en" ? `Characters: ${text.length} / 1,000` : `الأحرف: ${[...text].length.toLocaleString("ar-EG")} / ١٬٠٠٠`;
    await expect(page.getByText(count)).toBeVisible();

    await page.getByRole("button", { name: lang === "en" ? "Review the list" : "راجع القائمة" }).click();
    await expect(page).toHaveURL(new RegExp(`/${lang}/admin/broadcasts/\\d+$`));
    await expect(page.locator('[data-count="valid"] dd')).toHaveText(lang === "en" ? "3" : "٣");
    await expect(page.locator('[data-count="excluded"] dd')).toHaveText(lang === "en" ? "1" : "١");
    await expect(page.locator('.left-out[data-kind="excluded"]')).toContainText(excluded);
    if (lang === "ar") {
      await expect(page.locator('[data-count="duplicates"] dd')).toHaveText("١");
    }
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");

    await page.getByRole("button", { name: lang === "en" ? "Send to every valid number (3)" : "أرسل إلى كل الأرقام الصالحة (٣)" }).click();
    // Progress updates by itself until all three are sent.
    await expect(page.locator('[data-progress="sent"] dd')).toHaveText(lang === "en" ? "3" : "٣", { timeout: 20_000 });
    await expect(page.locator(".state")).toHaveText(lang === "en" ? "Done" : "اكتملت");
    await expect(page.locator('[data-progress="queued"] dd')).toHaveText(lang === "en" ? "0" : "٠");

    // The message log shows them, and none to the excluded number.
    await page.goto(`/${lang}/admin/messages?kind=broadcast&to=${excluded}`);
    await expect(page.locator(".none")).toBeVisible();
    await page.goto(`/${lang}/admin/messages?kind=broadcast&to=${first}`);
    await expect(page.locator("tbody tr")).toHaveCount(1);
    expect(errors).toEqual([]);
  });
}

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the admin forms still work as plain form posts", async ({ page }) => {
    const mobile = freshMobile();
    await page.goto("/en/admin/sign-in");
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/en\/marketing-report/);
    await expect(page.locator(".report-card").first()).toBeVisible();

    // Add a number to the do-not-contact list: the page comes back with it listed.
    await page.goto("/en/admin/exclusions");
    await page.getByLabel("Mobile", { exact: true }).fill(mobile);
    await page.getByRole("button", { name: "Add to the list" }).click();
    await expect(page).toHaveURL(/\/en\/admin\/exclusions/);
    await expect(page.locator(".exclusion-list tbody tr", { hasText: e164(mobile) })).toHaveCount(1);

    // A broadcast: review, confirm, then see it go out by reloading.
    const other = freshMobile();
    await page.goto("/en/admin/broadcasts");
    await page.getByLabel("Numbers (one per line, or separated by commas)").fill(`${other}\n${mobile}\n12345`);
    await page.getByLabel("Message", { exact: true }).fill("Closed on Thursday for maintenance.");
    await page.getByRole("button", { name: "Review the list" }).click();
    await expect(page).toHaveURL(/\/en\/admin\/broadcasts\/\d+$/);
    await expect(page.locator('[data-count="valid"] dd')).toHaveText("1");
    await expect(page.locator('[data-count="invalid"] dd')).toHaveText("1");
    await expect(page.locator('[data-count="excluded"] dd')).toHaveText("1");
    await page.getByRole("button", { name: "Send to every valid number (1)" }).click();
    await expect(page.locator(".progress")).toBeVisible();
    await expect(async () => {
      await page.reload();
      await expect(page.locator('[data-progress="sent"] dd')).toHaveText("1", { timeout: 500 });
    }).toPass({ timeout: 20_000 });

    // Restore the number.
    await page.goto("/en/admin/exclusions");
    const row = page.locator(".exclusion-list tbody tr", { hasText: e164(mobile) });
    await row.getByRole("button", { name: "Restore" }).click();
    await expect(page.locator(".exclusion-list tbody tr", { hasText: e164(mobile) })).toHaveCount(0);
  });
});
