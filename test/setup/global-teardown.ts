export default async function globalTeardown(): Promise<void> {
  await globalThis.__GRAYLANE_RNACOS__?.stop();
}
