// The Kubernetes manifests and the GitHub Actions workflow of examples/pipeline, validated without a
// cluster: every file parses; the kustomizations are rendered here as kustomize renders them
// (resources, namespace, nameSuffix, labels with selectors, images, JSON 6902 patches), each
// patch and image naming something that exists; labels, selectors and env agree with what graylane
// reads (laneFromEnv of @graylane/core on the env the downward API would give each pod); and every
// `graylane` command the workflow runs exists with the options it passes (checked against the built
// CLI's --help). Nothing here is applied to a cluster.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { WireNames, laneFromEnv, parseLane } from '@graylane/core';
import { parseAllDocuments } from 'yaml';
import { graylane } from './graylane.js';

const PIPELINE = join(__dirname, '..', '..', '..', 'examples', 'pipeline');
const K8S = join(PIPELINE, 'k8s');
const WORKFLOW = join(PIPELINE, 'github-actions', 'gray-release.yml');

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function parseFile(path: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  return docs.map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${relative(PIPELINE, path)}: ${doc.errors.map((error) => error.message).join('; ')}`);
    return doc.toJS() as Doc;
  }).filter((doc) => doc !== null);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const nameOf = (doc: Doc): string => doc['metadata']?.['name'];
const podLabels = (doc: Doc): Record<string, string> => doc['spec']?.['template']?.['metadata']?.['labels'] ?? {};
const containers = (doc: Doc): Doc[] => doc['spec']?.['template']?.['spec']?.['containers'] ?? [];

interface Rendered {
  readonly resources: Doc[];
  /** Each resource's name before this kustomization's nameSuffix, as patches and images refer to them. */
  readonly originalNames: Map<Doc, string>;
}

/** Renders the kustomization in `dir` with the subset of kustomize the manifests use; throws on anything else. */
function kustomize(dir: string): Rendered {
  const [kustomization] = parseFile(join(dir, 'kustomization.yaml'));
  expect(kustomization).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' });
  const known = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'nameSuffix', 'labels', 'images', 'patches']);
  for (const field of Object.keys(kustomization!)) if (!known.has(field)) throw new Error(`${relative(K8S, dir)}: unsupported kustomization field ${field}`);
  const resources: Doc[] = [];
  for (const entry of kustomization!['resources'] ?? []) {
    const path = join(dir, entry);
    resources.push(...(statSync(path).isDirectory() ? kustomize(path).resources : parseFile(path)));
  }
  const originalNames = new Map(resources.map((doc) => [doc, nameOf(doc)]));
  for (const patch of kustomization!['patches'] ?? []) {
    const { kind, name } = patch.target;
    const targets = resources.filter((doc) => doc['kind'] === kind && originalNames.get(doc) === name);
    expect({ patch: `${kind}/${name}`, matches: targets.length }).toEqual({ patch: `${kind}/${name}`, matches: 1 });
    for (const op of parseFile0(patch.patch)) applyOperation(targets[0]!, op);
  }
  for (const image of kustomization!['images'] ?? []) {
    const uses = resources.flatMap(containers).filter((container) => String(container['image']).split(':')[0] === image.name);
    expect({ image: image.name, uses: uses.length > 0 }).toEqual({ image: image.name, uses: true });
    for (const container of uses) container['image'] = `${image.newName ?? image.name}:${image.newTag}`;
  }
  for (const doc of resources) {
    if (kustomization!['namespace'] && doc['kind'] !== 'Namespace') doc['metadata']['namespace'] = kustomization!['namespace'];
    if (kustomization!['nameSuffix'] && doc['kind'] !== 'ConfigMap') doc['metadata']['name'] = `${nameOf(doc)}${kustomization!['nameSuffix']}`;
    for (const { pairs, includeSelectors, includeTemplates } of kustomization!['labels'] ?? []) {
      doc['metadata']['labels'] = { ...doc['metadata']['labels'], ...pairs };
      if (includeSelectors && doc['kind'] === 'Deployment') doc['spec']['selector']['matchLabels'] = { ...doc['spec']['selector']['matchLabels'], ...pairs };
      if (includeSelectors && doc['kind'] === 'Service') doc['spec']['selector'] = { ...doc['spec']['selector'], ...pairs };
      if ((includeTemplates || includeSelectors) && doc['kind'] === 'Deployment') doc['spec']['template']['metadata']['labels'] = { ...podLabels(doc), ...pairs };
    }
  }
  return { resources, originalNames };
}

function parseFile0(text: string): Doc[] {
  const [doc] = parseAllDocuments(text);
  return doc!.toJS() as Doc[];
}

/** A JSON 6902 `replace` or `add` whose parent exists (a `replace` also needs the member itself). */
function applyOperation(doc: Doc, op: Doc): void {
  expect(['replace', 'add']).toContain(op['op']);
  const keys = String(op['path']).split('/').slice(1);
  let parent = doc;
  for (const key of keys.slice(0, -1)) {
    expect({ path: op['path'], exists: key in parent }).toEqual({ path: op['path'], exists: true });
    parent = parent[key];
  }
  const last = keys[keys.length - 1]!;
  if (op['op'] === 'replace') expect({ path: op['path'], exists: last in parent }).toEqual({ path: op['path'], exists: true });
  parent[last] = op['value'];
}

/** The environment a container of `deployment` would see, with the downward API resolved for one of its pods. */
function podEnv(deployment: Doc, container: Doc, configMaps: Doc[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container['envFrom'] ?? []) {
    const map = configMaps.find((doc) => nameOf(doc) === from.configMapRef.name);
    expect({ configMap: from.configMapRef.name, exists: map !== undefined }).toEqual({ configMap: from.configMapRef.name, exists: true });
    Object.assign(env, map!['data']);
  }
  for (const variable of container['env'] ?? []) {
    if (variable.value !== undefined) env[variable.name] = String(variable.value);
    const fieldPath: string | undefined = variable.valueFrom?.fieldRef?.fieldPath;
    if (fieldPath === undefined) continue;
    const label = /^metadata\.labels\['([^']+)'\]$/.exec(fieldPath);
    if (label) env[variable.name] = podLabels(deployment)[label[1]!] ?? ''; // a missing label reads as ''
    else if (fieldPath === 'status.podIP') env[variable.name] = '10.0.0.1';
    else throw new Error(`${nameOf(deployment)}: unexpected fieldPath ${fieldPath}`);
  }
  return env;
}

describe('examples/pipeline: Kubernetes manifests (validated, not applied)', () => {
  let base: Rendered;
  let gray: Rendered;
  let configMaps: Doc[];
  beforeAll(() => {
    base = kustomize(join(K8S, 'base'));
    gray = kustomize(join(K8S, 'overlays', 'gray'));
    configMaps = base.resources.filter((doc) => doc['kind'] === 'ConfigMap');
  });
  const deployments = (rendered: Rendered) => rendered.resources.filter((doc) => doc['kind'] === 'Deployment');
  /** service -> lane each Deployment's pods register in, by what graylane reads from their env. */
  const lanes = (rendered: Rendered) =>
    deployments(rendered).flatMap((deployment) =>
      containers(deployment).map((container) => {
        const env = podEnv(deployment, container, configMaps);
        const lane = laneFromEnv(env);
        expect(lane.lane).not.toBeNull(); // an invalid lane would stop the process at start-up
        return { deployment: nameOf(deployment), service: env['SERVICE'] ?? nameOf(deployment), lane: lane.lane ?? 'base', next: env['NEXT'], env };
      }),
    );

  it('every YAML file parses, and every resource has an apiVersion, a kind and a name', () => {
    const files = yamlFiles(K8S);
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) {
      for (const doc of parseFile(file)) {
        expect({ file: relative(K8S, file), ok: typeof doc['apiVersion'] === 'string' && typeof doc['kind'] === 'string' }).toEqual({ file: relative(K8S, file), ok: true });
        if (doc['kind'] !== 'Kustomization') expect(typeof nameOf(doc)).toBe('string');
      }
    }
  });

  it('base runs A, B, C and the gateway; every pod registers in base, A calls B calls C', () => {
    expect(deployments(base).map(nameOf).sort()).toEqual(['a', 'b', 'c', 'gateway']);
    const services = lanes(base).filter(({ deployment }) => deployment !== 'gateway');
    expect(services.map(({ service, lane, next }) => [service, lane, next])).toEqual([
      ['a', 'base', 'b'],
      ['b', 'base', 'c'],
      ['c', 'base', undefined],
    ]);
    for (const deployment of deployments(base)) expect(podLabels(deployment)[WireNames.MSE_SERVICE_TAG]).toBeUndefined();
  });

  it('the gray overlay adds a-gray and c-gray, labelled alicloud.service.tag: gray, which the downward API hands to graylane', () => {
    expect(deployments(gray).map(nameOf)).toEqual(['a-gray', 'c-gray']);
    expect(lanes(gray).map(({ deployment, service, lane }) => [deployment, service, lane])).toEqual([
      ['a-gray', 'a', 'gray'],
      ['c-gray', 'c', 'gray'],
    ]);
    for (const deployment of deployments(gray)) {
      const lane = podLabels(deployment)[WireNames.MSE_SERVICE_TAG];
      expect(parseLane(lane)).toBe('gray');
      // The env variable graylane reads, fed from that label: not a copy that could drift from it.
      const tag = containers(deployment)[0]!['env'].find((variable: Doc) => variable.name === WireNames.MSE_SERVICE_TAG_ENV);
      expect(tag.valueFrom.fieldRef.fieldPath).toBe(`metadata.labels['${WireNames.MSE_SERVICE_TAG}']`);
      expect(deployment['spec']['replicas']).toBe(1);
      expect(containers(deployment)[0]!['image']).toMatch(/:1\.5\.0-rc\.1$/);
    }
    // Every gray service reads the same registry and lane store as base.
    const store = (rendered: Rendered) => [...new Set(lanes(rendered).map(({ env }) => `${env['NACOS_SERVER_ADDR']} ${env['GRAYLANE_LANES_DATA_ID']}`))];
    expect(store(gray)).toEqual(store(base));
    expect(store(base)).toHaveLength(1);
  });

  it('selectors match their own pods only: no Deployment selects another Deployment\'s pods, base and gray included', () => {
    const all = [...deployments(base), ...deployments(gray)];
    for (const deployment of all) {
      const selector: Record<string, string> = deployment['spec']['selector']['matchLabels'];
      const selects = (pod: Record<string, string>) => Object.entries(selector).every(([key, value]) => pod[key] === value);
      for (const other of all) {
        expect({ selector: nameOf(deployment), pods: nameOf(other), selects: selects(podLabels(other)) }).toEqual({ selector: nameOf(deployment), pods: nameOf(other), selects: other === deployment });
      }
    }
    const gatewayService = base.resources.find((doc) => doc['kind'] === 'Service' && nameOf(doc) === 'gateway')!;
    const selected = deployments(base).filter((deployment) => Object.entries(gatewayService['spec']['selector']).every(([key, value]) => podLabels(deployment)[key] === value));
    expect(selected.map(nameOf)).toEqual(['gateway']);
  });
});

describe('examples/pipeline: the GitHub Actions workflow (validated, not run)', () => {
  const [workflow] = parseFile(WORKFLOW);
  const jobs: Record<string, Doc> = workflow!['jobs'];
  const runs = Object.values(jobs).flatMap((job) => (job['steps'] as Doc[]).flatMap((step) => (step['run'] ? [String(step['run'])] : [])));
  /** Every `graylane ...` invocation, with shell variables left as written. */
  const invocations = runs.flatMap((script) => [...script.matchAll(/(?:^|[\s;&|(])graylane ([^\n;&|)]+)/g)].map((match) => match[1]!.trim()));

  it('runs gray-deploy -> verify -> promote -> cleanup, each job after the one before', () => {
    expect(Object.keys(jobs)).toEqual(['gray-deploy', 'verify', 'promote', 'cleanup']);
    expect(Object.entries(jobs).map(([name, job]) => [name, job['needs'] ?? null])).toEqual([
      ['gray-deploy', null],
      ['verify', 'gray-deploy'],
      ['promote', 'verify'],
      ['cleanup', 'promote'],
    ]);
    const order = ['lane create', 'lane status', 'lane verify', 'lane promote', 'lane disable', 'lane cleanup'];
    const positions = order.map((command) => invocations.findIndex((line) => line.startsWith(command)));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
  });

  it('deploys and cleans up the gray overlay, and releases the image tags the overlay deployed', () => {
    const script = runs.join('\n');
    expect(script).toContain('kubectl apply -k examples/pipeline/k8s/overlays/gray');
    expect(script).toContain('kubectl delete -k examples/pipeline/k8s/overlays/gray');
    const [overlay] = parseFile(join(K8S, 'overlays', 'gray', 'kustomization.yaml'));
    for (const image of overlay!['images']) expect(script).toContain(`${image.name}:${image.newTag}`);
    // The lane the workflow drives is the lane the overlay's pods register in.
    expect(workflow!['on']['workflow_dispatch']['inputs']['lane']['default']).toBe(overlay!['labels'][0]['pairs'][WireNames.MSE_SERVICE_TAG]);
    expect(dirname(WORKFLOW)).not.toContain('.github');
  });

  it('every graylane command it runs exists and takes the options it passes (the built CLI\'s --help)', async () => {
    expect(invocations.length).toBeGreaterThanOrEqual(8);
    const checks = await Promise.all(
      invocations.map(async (line) => {
        const words = line.split(/\s+/);
        const command = words[0] === 'lane' ? words.slice(0, 2) : words.slice(0, 1);
        const help = await graylane([...command, '--help']);
        const options = words.filter((word) => word.startsWith('--'));
        return { line, code: help.code, missing: options.filter((option) => !help.stdout.includes(option)) };
      }),
    );
    for (const check of checks) expect(check).toEqual({ line: check.line, code: 0, missing: [] });
  });

  it('uses the stores the services use', () => {
    const [config] = parseFile(join(K8S, 'base', 'graylane-config.yaml'));
    for (const name of ['NACOS_SERVER_ADDR', 'NACOS_NAMESPACE', 'GRAYLANE_LANES_DATA_ID', 'GRAYLANE_RULES_DATA_ID']) {
      expect({ name, value: workflow!['env'][name] }).toEqual({ name, value: config!['data'][name] });
    }
  });
});
