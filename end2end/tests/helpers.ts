import type { ConsoleMessage, Page } from "@playwright/test";

// Collects console errors and uncaught exceptions so a test can assert there were none.
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message: ConsoleMessage) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}
