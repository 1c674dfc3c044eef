export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__GRAYLANE_NACOS_SERVERS__ ?? []).map((node) => node.stop()));
}
