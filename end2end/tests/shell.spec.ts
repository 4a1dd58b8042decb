import { test, expect, type Page } from "@playwright/test";
import { watchConsole } from "./helpers";

async function waitForHydration(page: Page) {
  await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
}

test("the English page arrives left-to-right from the server", async ({ page, request }) => {
  const raw = await request.get("/en/clinic-dashboard");
  expect(raw.status()).toBe(200);
  const html = await raw.text();
  expect(html).toMatch(/<html[^>]*lang="en"/);
  expect(html).toMatch(/<html[^>]*dir="ltr"/);

  const errors = watchConsole(page);
  await page.goto("/en/clinic-dashboard");
  await waitForHydration(page);
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.locator("html")).toHaveAttribute("dir", "ltr");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Clinic dashboard");
  // Only the page being shown is marked current in the navigation.
  const nav = page.getByRole("navigation", { name: "Main navigation" });
  await expect(nav.getByRole("link", { name: "Dashboard" })).toHaveAttribute("aria-current", "page");
  await expect(nav.getByRole("link", { name: "Home" })).not.toHaveAttribute("aria-current", "page");
  expect(errors).toEqual([]);
});

test("the Arabic page arrives right-to-left from the server", async ({ page, request }) => {
  const raw = await request.get("/ar/clinic-dashboard");
  expect(raw.status()).toBe(200);
  const html = await raw.text();
  expect(html).toMatch(/<html[^>]*lang="ar"/);
  expect(html).toMatch(/<html[^>]*dir="rtl"/);

  const errors = watchConsole(page);
  await page.goto("/ar/clinic-dashboard");
  await waitForHydration(page);
  await expect(page.locator("html")).toHaveAttribute("dir", "rtl");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("لوحة مؤشرات العيادة");
  // Right-to-left for real: the brand sits at the right edge of the header.
  const brand = await page.locator(".brand").boundingBox();
  const viewport = page.viewportSize();
  expect(brand && viewport && brand.x > viewport.width / 2).toBeTruthy();
  expect(errors).toEqual([]);
});

test("the language switch keeps the page and switches without a reload", async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto("/en/clinic-dashboard?doctor=3");
  await waitForHydration(page);
  const marker = await page.evaluate(() => {
    (window as unknown as { nabdMarker: number }).nabdMarker = 42;
    return 42;
  });

  const toArabic = page.getByTestId("language-switch");
  await expect(toArabic).toHaveAttribute("href", "/ar/clinic-dashboard?doctor=3");
  await toArabic.click();

  await expect(page).toHaveURL(/\/ar\/clinic-dashboard\?doctor=3$/);
  await expect(page.locator("html")).toHaveAttribute("lang", "ar");
  await expect(page.locator("html")).toHaveAttribute("dir", "rtl");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("لوحة مؤشرات العيادة");
  // The same window object: the router changed the page, the browser did not reload it.
  const still = await page.evaluate(
    () => (window as unknown as { nabdMarker?: number }).nabdMarker,
  );
  expect(still).toBe(marker);

  await page.getByTestId("language-switch").click();
  await expect(page).toHaveURL(/\/en\/clinic-dashboard\?doctor=3$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Clinic dashboard");
  expect(errors).toEqual([]);
});

test("a bare address follows the remembered language", async ({ page }) => {
  await page.goto("/ar");
  await waitForHydration(page);
  await page.goto("/clinic-dashboard");
  await expect(page).toHaveURL(/\/ar\/clinic-dashboard$/);
  await page.goto("/clinic-dashboard/en");
  await expect(page).toHaveURL(/\/en\/clinic-dashboard$/);
});

test("healthz answers", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({ status: "ok" });
});
