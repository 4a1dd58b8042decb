import { expect, test } from "@playwright/test";
import { watchConsole } from "./helpers";

// .ci/test.sh creates the admin user "e2e-admin" before it starts the server.
const USER = "e2e-admin";
const PASSWORD = "e2e password 2026";

for (const lang of ["en", "ar"] as const) {
  test(`sign in, see the report, search it and sign out (${lang})`, async ({ page }) => {
    const errors = watchConsole(page);
    await page.goto(`/${lang}/marketing-report`);
    await expect(page.locator("html")).toHaveAttribute("dir", lang === "ar" ? "rtl" : "ltr");
    // Anonymous: the report is refused, with a way to sign in.
    const notice = page.getByRole("alert");
    await expect(notice).toContainText(lang === "en" ? "Sign in to see this page." : "سجّل الدخول لعرض هذه الصفحة.");

    await page.goto(`/${lang}/admin/sign-in`);
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
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

async function signIn(page: import("@playwright/test").Page, lang: "en" | "ar") {
  await page.goto(`/${lang}/admin/sign-in`);
  await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel(lang === "en" ? "Username" : "اسم المستخدم").fill(USER);
  await page.getByLabel(lang === "en" ? "Password" : "كلمة المرور").fill(PASSWORD);
  await page.getByRole("button", { name: lang === "en" ? "Sign in" : "دخول" }).click();
  await expect(page).toHaveURL(new RegExp(`/${lang}/marketing-report`));
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
