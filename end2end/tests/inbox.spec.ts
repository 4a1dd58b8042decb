import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { signIn, watchConsole } from "./helpers";

// .ci/test.sh queues the demo clinic's same-day reminders before the server starts (it sends
// them through the log provider) and gives the whatsapp-web bridge endpoint this secret.
const BRIDGE_SECRET = "e2e-bridge-secret";

/** The numbers that were sent a reminder, oldest first (the server sends them as it starts). */
async function reminded(page: Page): Promise<string[]> {
  let numbers: string[] = [];
  await expect
    .poll(async () => {
      const answer = await page.request.get("/api/v1/admin/messages?kind=reminder&state=sent");
      const rows = (await answer.json()) as { to: string }[];
      numbers = [...new Set(rows.map((row) => row.to))].sort();
      return numbers.length;
    })
    .toBeGreaterThanOrEqual(4);
  return numbers;
}

/** A patient's message as the whatsapp-web bridge posts it. */
async function patientWrites(request: APIRequestContext, from: string, body: string) {
  const answer = await request.post("/webhooks/whatsapp-web", {
    headers: { "x-nabd-bridge-secret": BRIDGE_SECRET },
    data: {
      id: `false_${from}@c.us_${Math.random().toString(36).slice(2)}`,
      from: `${from.replace("+", "")}@c.us`,
      body,
      timestamp: Math.floor(Date.now() / 1000),
      type: "chat",
    },
  });
  expect(answer.status()).toBe(200);
}

for (const [index, lang] of (["en", "ar"] as const).entries()) {
  test(`replies reach the inbox, get handled and answered, and reach reception (${lang})`, async ({
    page,
    request,
  }) => {
    const errors = watchConsole(page);
    const en = lang === "en";
    await signIn(page, lang);
    const numbers = await reminded(page);
    const [cancelling, confirming] = [numbers[index * 2], numbers[index * 2 + 1]];

    await page.goto(`/${lang}/admin/inbox`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(en ? "Inbox" : "صندوق الردود");
    await expect(page.locator(".frame")).toHaveAttribute("data-hydrated", "true");
    const count = page.locator(".nav-count");
    await expect(count).toBeVisible();
    const before = Number(await count.getAttribute("data-count"));

    // A patient answers her reminder: the count and the list change without a reload.
    await patientWrites(request, cancelling, "ما اقدر احضر");
    await expect(count).toHaveAttribute("data-count", String(before + 1));
    const row = page.locator(".conversations li", { hasText: cancelling });
    await expect(row).toBeVisible();
    await expect(row.locator(".intent")).toHaveText(en ? "Cancels" : "يلغي");

    // Her thread: the reminder out, her words in.
    await row.getByRole("link").click();
    await expect(page).toHaveURL(/m=/);
    const thread = page.locator(".thread");
    await expect(thread.locator("li.out").first().locator(".meta")).toContainText(en ? "Reminder" : "تذكير");
    await expect(thread.locator("li.in")).toHaveText(/ما اقدر احضر/);
    await expect(thread.locator(".window-note")).toHaveCount(0); // the bridge has no window

    // Answer her.
    const answer = en ? "Sorry to hear it; shall we book another day?" : "لا بأس، هل نحجز لك يوماً آخر؟";
    await thread.getByLabel(en ? "Your reply" : "ردك").fill(answer);
    await thread.getByRole("button", { name: en ? "Send reply" : "إرسال الرد" }).click();
    await expect(page.getByRole("status")).toHaveText(en ? "Reply sent." : "تم إرسال الرد.");
    await expect(page.locator(".thread li.out", { hasText: answer })).toBeVisible();

    // Mark handled: she leaves "needs action" and the count goes back.
    await page.locator(".thread").getByRole("button", { name: en ? "Mark handled" : "تعليم كمنجزة" }).click();
    await expect(page.locator(".thread .handled-note")).toBeVisible();
    await expect(page.locator(".conversations li", { hasText: cancelling })).toHaveCount(0);
    await expect(count).toHaveAttribute("data-count", String(before));
    await page.getByRole("link", { name: en ? "All" : "الكل" }).click();
    await expect(page).toHaveURL(/filter=all/);
    await expect(page.locator(".conversations li.handled", { hasText: cancelling })).toBeVisible();

    // Another confirms: he appears under confirmations, found by his number.
    await patientWrites(request, confirming, en ? "yes 👍" : "نعم إن شاء الله");
    await page.getByRole("link", { name: en ? "Confirmations" : "تأكيدات" }).click();
    await expect(page).toHaveURL(/filter=confirmations/);
    await expect(page.locator(".conversations li", { hasText: confirming })).toBeVisible();
    await page.getByLabel(en ? "Number or name" : "الرقم أو الاسم").fill(`0${confirming.slice(4)}`);
    await page.getByRole("button", { name: en ? "Search" : "بحث" }).click();
    await expect(page.locator(".conversations li")).toHaveCount(1);

    // Reception's list of today: both appointments with what each patient asked.
    await page.getByRole("link", { name: en ? "Replies for reception" : "ردود للاستقبال" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(
      en ? "Patients' replies about appointments" : "ردود المرضى على المواعيد",
    );
    const cancelled = page.locator("table.reception tbody tr", { hasText: cancelling });
    await expect(cancelled.locator(".intent")).toHaveText(en ? "Cancels" : "يلغي");
    const confirmed = page.locator("table.reception tbody tr", { hasText: confirming });
    await expect(confirmed.locator(".intent")).toHaveText(en ? "Confirms" : "يؤكد");
    await page.getByRole("link", { name: en ? "Tomorrow" : "غداً" }).click();
    await expect(page.locator(".none")).toBeVisible();
    expect(errors).toEqual([]);
  });
}
