import { test, expect } from "@playwright/test";
import { watchConsole } from "./helpers";

// The server under test reads a seeded demo clinic with its clock fixed (see .ci/test.sh), so
// the API's figures are the truth the page must show.

const KPIS = [
  "revenue_today",
  "appointments_today",
  "avg_revenue_per_patient_30d",
  "new_patients_this_month",
  "avg_revenue_per_appointment_30d",
  "returning_share_30d",
];

for (const lang of ["en", "ar"]) {
  test(`the ${lang} board shows every KPI with the API's value`, async ({ page, request }) => {
    const figures = await (await request.get("/api/v1/dashboard")).json();
    const errors = watchConsole(page);
    const wasm: string[] = [];
    page.on("request", (sent) => {
      if (sent.url().endsWith(".wasm")) wasm.push(new URL(sent.url()).pathname);
    });
    await page.goto(`/${lang}/clinic-dashboard`);
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
    // The board downloads the main bundle only: the admin pages' code stays on the server.
    expect(wasm).toEqual(["/pkg/nabd.wasm"]);
    await expect(page.locator("html")).toHaveAttribute("dir", lang === "ar" ? "rtl" : "ltr");
    for (const kpi of KPIS) {
      const value = page.locator(`[data-kpi="${kpi}"] .kpi-value`);
      await expect(value).toHaveAttribute("data-value", String(figures[kpi]));
    }
    const appointments = new Intl.NumberFormat(lang === "ar" ? "ar-SA" : "en-US").format(
      figures.appointments_today,
    );
    await expect(page.locator('[data-kpi="appointments_today"] .kpi-value')).toHaveText(
      appointments,
    );
    // The three charts are drawn by ECharts (served from Nabd's origin) with every data point.
    const charts = {
      "chart-monthly-revenue": figures.monthly_revenue.length,
      "chart-top-doctors": figures.top_doctors.length,
      "chart-patient-mix": figures.patient_mix.length,
    };
    for (const [id, points] of Object.entries(charts)) {
      await expect(page.locator(`#${id} canvas`).first()).toBeVisible();
      const drawn = await page.evaluate((chartId) => {
        const echarts = (window as unknown as { echarts: any }).echarts;
        const chart = echarts.getInstanceByDom(document.getElementById(chartId));
        const option = chart.getOption();
        const axisLabel = option.yAxis[0].axisLabel?.formatter;
        const tooltip = option.tooltip[0]?.valueFormatter;
        return {
          points: option.series[0].data.length,
          inverse: option.xAxis[0].inverse,
          firstLabel: option.xAxis[0].data[0],
          axisNumber: typeof axisLabel === "function" ? axisLabel(12500) : null,
          tooltipNumber: typeof tooltip === "function" ? tooltip(1234.5) : null,
        };
      }, id);
      expect(drawn.points).toBe(points);
      expect(drawn.inverse).toBe(lang === "ar");
      // ECharts writes its own numbers (the value axis, the tooltip) in the page's digits.
      expect(drawn.axisNumber).toBe(lang === "ar" ? "١٢٬٥٠٠" : null);
      expect(drawn.tooltipNumber).toBe(lang === "ar" ? "١٬٢٣٤٫٥٠" : null);
    }
    // The definition shows on keyboard focus.
    const card = page.locator('[data-kpi="revenue_today"]');
    await card.focus();
    await expect(card.locator(".kpi-definition")).toBeVisible();
    await page.screenshot({ path: `test-results/dashboard-${lang}.png`, fullPage: true });
    expect(errors).toEqual([]);
  });
}

test("choosing a doctor changes the value and the URL without a reload", async ({
  page,
  request,
}) => {
  const expected = await (await request.get("/api/v1/dashboard?doctor=2")).json();
  const errors = watchConsole(page);
  await page.goto("/en/clinic-dashboard");
  await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
  await expect(page.locator('[data-kpi="doctor_avg_revenue_per_patient_30d"]')).toHaveCount(0);

  await page.getByTestId("doctor-filter").selectOption("2");

  await expect(page).toHaveURL(/\/en\/clinic-dashboard\?doctor=2$/);
  const card = page.locator('[data-kpi="doctor_avg_revenue_per_patient_30d"] .kpi-value');
  await expect(card).toHaveAttribute(
    "data-value",
    String(expected.doctor_avg_revenue_per_patient_30d),
  );
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
  expect(errors).toEqual([]);
});

test("the board refreshes itself and says when", async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto("/en/clinic-dashboard");
  await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
  const board = page.locator("section.dashboard");
  const updated = page.getByTestId("updated-at");
  await expect(updated).toHaveText(/^Updated at \d\d:\d\d:\d\d$/);
  const first = await updated.textContent();
  // The test server refreshes every 2 seconds.
  await expect
    .poll(async () => Number(await board.getAttribute("data-refreshes")), { timeout: 10_000 })
    .toBeGreaterThan(1);
  await expect(updated).not.toHaveText(first ?? "");
  expect(errors).toEqual([]);
});

test("wall-TV mode has larger type and no controls", async ({ page }) => {
  await page.goto("/en/clinic-dashboard");
  const normal = await page
    .locator('[data-kpi="revenue_today"] .kpi-value')
    .evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  await page.goto("/en/clinic-dashboard?tv=1");
  await expect(page.locator(".doctor-filter")).toBeHidden();
  await expect(page.getByTestId("language-switch")).toBeHidden();
  const tv = await page
    .locator('[data-kpi="revenue_today"] .kpi-value')
    .evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(tv).toBeGreaterThan(normal);
  await page.screenshot({ path: "test-results/dashboard-tv.png" });
});

test("charts follow the window's width", async ({ page }) => {
  await page.setViewportSize({ width: 1600, height: 800 });
  await page.goto("/en/clinic-dashboard");
  await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
  const box = page.locator("#chart-monthly-revenue");
  const canvas = box.locator("canvas").first();
  await expect(canvas).toBeVisible();
  const width = async (locator: typeof box) => (await locator.boundingBox())?.width ?? 0;
  const before = await width(box);
  expect(Math.abs((await width(canvas)) - before)).toBeLessThan(2);

  // One column on a phone: the box changes width, and the drawing follows it.
  await page.setViewportSize({ width: 700, height: 900 });
  await expect.poll(() => width(box)).not.toBeCloseTo(before, 0);
  await expect
    .poll(async () => Math.abs((await width(canvas)) - (await width(box))))
    .toBeLessThan(2);
});
