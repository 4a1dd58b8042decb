import { expect, type ConsoleMessage, type Page } from "@playwright/test";

// Collects console errors and uncaught exceptions so a test can assert there were none.
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message: ConsoleMessage) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

// .ci/test.sh creates the admin user "e2e-admin" before it starts the server.
export const USER = "e2e-admin";
export const PASSWORD = "e2e password 2026";

// Signs in as the e2e admin; the browser lands on the campaign report.
export async function signIn(page: Page, lang: "en" | "ar") {
  await page.goto(`/${lang}/admin/sign-in`);
  await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel(lang === "en" ? "Username" : "اسم المستخدم").fill(USER);
  await page.getByLabel(lang === "en" ? "Password" : "كلمة المرور").fill(PASSWORD);
  await page.getByRole("button", { name: lang === "en" ? "Sign in" : "دخول" }).click();
  await expect(page).toHaveURL(new RegExp(`/${lang}/marketing-report`));
}
