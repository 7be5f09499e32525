/**
 * Static checks of infra/terraform, one named test per property a production deployment must
 * have, over the HCL parsed offline by `@cdktf/hcl2json` (see ./hcl.ts).
 * No terraform binary, provider or AWS account is needed; where a `terraform` binary happens to
 * be on PATH, the formatting test also runs `terraform fmt -check`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type Block,
  type TerraformConfig,
  block,
  blocks,
  dataSource,
  expandForEach,
  formatProblems,
  instanceCount,
  loadTerraform,
  parseHcl,
  references,
  refersTo,
  resolve,
  resolveDeep,
  resource,
  resourceAddresses,
  resourcesOfType,
} from './hcl.js';

const TERRAFORM_DIR = fileURLToPath(new URL('../../infra/terraform/', import.meta.url));
const ANYWHERE = ['0.0.0.0/0', '::/0'];

/** A normalised security group rule, from any of the three ways Terraform can declare one. */
interface SgRule {
  address: string;
  direction: 'ingress' | 'egress';
  /** Address of the group the rule belongs to, e.g. `aws_security_group.task`. */
  group: string;
  fromPort: unknown;
  toPort: unknown;
  protocol: unknown;
  cidrs: string[];
  /** Addresses of the peer security groups. */
  peers: string[];
  prefixLists: string[];
  description: unknown;
}

function groupOf(refs: string[]): string {
  const groups = resourceAddresses(refs).filter((a) => a.startsWith('aws_security_group.'));
  assert.equal(groups.length, 1, `expected one security group reference, got ${JSON.stringify(refs)}`);
  return groups[0] as string;
}

async function securityGroupRules(tf: TerraformConfig): Promise<SgRule[]> {
  const rules: SgRule[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    for (const [name, rule] of resourcesOfType(tf, `aws_vpc_security_group_${direction}_rule`)) {
      const peerRefs = await references(tf, rule.referenced_security_group_id);
      rules.push({
        address: `aws_vpc_security_group_${direction}_rule.${name}`,
        direction,
        group: groupOf(await references(tf, rule.security_group_id)),
        fromPort: resolve(tf, rule.from_port),
        toPort: resolve(tf, rule.to_port),
        protocol: resolve(tf, rule.ip_protocol),
        cidrs: [rule.cidr_ipv4, rule.cidr_ipv6]
          .map((c) => resolve(tf, c))
          .filter((c): c is string => typeof c === 'string'),
        peers: resourceAddresses(peerRefs),
        prefixLists: rule.prefix_list_id === undefined ? [] : await references(tf, rule.prefix_list_id),
        description: rule.description,
      });
    }
  }
  for (const [name, rule] of resourcesOfType(tf, 'aws_security_group_rule')) {
    rules.push({
      address: `aws_security_group_rule.${name}`,
      direction: resolve(tf, rule.type) as 'ingress' | 'egress',
      group: groupOf(await references(tf, rule.security_group_id)),
      fromPort: resolve(tf, rule.from_port),
      toPort: resolve(tf, rule.to_port),
      protocol: resolve(tf, rule.protocol),
      cidrs: [
        ...((resolveDeep(tf, rule.cidr_blocks) as string[]) ?? []),
        ...((resolveDeep(tf, rule.ipv6_cidr_blocks) as string[]) ?? []),
      ],
      peers: resourceAddresses(await references(tf, rule.source_security_group_id)),
      prefixLists: await references(tf, rule.prefix_list_ids),
      description: rule.description,
    });
  }
  for (const [name, group] of resourcesOfType(tf, 'aws_security_group')) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const rule of blocks(group, direction)) {
        rules.push({
          address: `aws_security_group.${name}.${direction}`,
          direction,
          group: `aws_security_group.${name}`,
          fromPort: resolve(tf, rule.from_port),
          toPort: resolve(tf, rule.to_port),
          protocol: resolve(tf, rule.protocol),
          cidrs: [
            ...((resolveDeep(tf, rule.cidr_blocks) as string[]) ?? []),
            ...((resolveDeep(tf, rule.ipv6_cidr_blocks) as string[]) ?? []),
          ],
          peers: resourceAddresses(await references(tf, rule.security_groups)),
          prefixLists: await references(tf, rule.prefix_list_ids),
          description: rule.description,
        });
      }
    }
  }
  return rules;
}

/** The policy document data source a policy/assume_role_policy attribute refers to. */
async function policyDocument(tf: TerraformConfig, expression: unknown): Promise<Block> {
  const docs = resourceAddresses(await references(tf, expression)).filter((a) =>
    a.startsWith('data.aws_iam_policy_document.'),
  );
  assert.equal(docs.length, 1, `expected a reference to one aws_iam_policy_document, got ${String(expression)}`);
  return dataSource(tf, 'aws_iam_policy_document', (docs[0] as string).split('.')[2] as string);
}

/** Statements of a policy document, with actions, resources and principals resolved. */
function statements(tf: TerraformConfig, doc: Block): Block[] {
  return blocks(doc, 'statement').map((s) => resolveDeep(tf, s) as Block);
}

function actionsOf(statement: Block): string[] {
  return (statement.actions as string[] | undefined) ?? [];
}

function principalIdentifiers(statement: Block, type: string): string[] {
  return blocks(statement, 'principals')
    .filter((p) => p.type === type)
    .flatMap((p) => p.identifiers as string[]);
}

function conditions(statement: Block): Block[] {
  return blocks(statement, 'condition');
}

/** The one CloudWatch alarm on `namespace`/`metric`. */
function alarmOn(tf: TerraformConfig, namespace: string, metric: string): [string, Block] {
  const found = resourcesOfType(tf, 'aws_cloudwatch_metric_alarm').filter(
    ([, a]) => resolve(tf, a.namespace) === namespace && resolve(tf, a.metric_name) === metric,
  );
  assert.equal(found.length, 1, `expected one alarm on ${namespace} ${metric}, found ${found.length}`);
  return found[0] as [string, Block];
}

describe('infra/terraform', () => {
  let tf: TerraformConfig;
  let containers: Block[];
  let app: Block;

  before(async () => {
    tf = await loadTerraform(TERRAFORM_DIR);
    const taskDefinition = resource(tf, 'aws_ecs_task_definition', 'app');
    const encoded = /^\$\{jsonencode\(local\.([a-z_]+)\)\}$/.exec(String(taskDefinition.container_definitions));
    assert.ok(encoded, 'container_definitions must be jsonencode(local.<name>) so it parses as structure');
    containers = resolveDeep(tf, tf.locals[encoded[1] as string]) as Block[];
    app = containers.find((c) => Array.isArray(c.portMappings)) as Block;
  });

  it('every .tf file parses, and a syntax error is reported with its file and line', async () => {
    assert.ok(
      tf.files.size >= 10,
      `expected the configuration split over several files, got ${[...tf.files.keys()].join(', ')}`,
    );
    for (const name of tf.files.keys()) assert.match(name, /^[a-z0-9-]+\.tf$/);
    await assert.rejects(parseHcl('broken.tf', 'resource "aws_vpc" "x" {\n  cidr_block = \n}\n'), /broken\.tf:2/);
  });

  it('two public and two private subnets, each pair in two distinct AZs', async () => {
    assert.deepEqual(tf.locals.azs, '${slice(data.aws_availability_zones.available.names, 0, 2)}');
    assert.ok(tf.data.has('aws_availability_zones.available'));
    for (const kind of ['public', 'private']) {
      const subnets = resourcesOfType(tf, 'aws_subnet').filter(([name]) => name.startsWith(kind));
      assert.equal(
        subnets.reduce((n, [, s]) => n + instanceCount(tf, s), 0),
        2,
        `${kind} subnets`,
      );
      for (const [name, subnet] of subnets) {
        // count = 2 and AZ = two distinct names from the region's list, picked by count.index.
        assert.equal(subnet.availability_zone, '${local.azs[count.index]}', `aws_subnet.${name}.availability_zone`);
        assert.match(String(subnet.cidr_block), /count\.index/, `aws_subnet.${name} needs a distinct CIDR per AZ`);
        assert.ok(refersTo(await references(tf, subnet.vpc_id), 'aws_vpc.main'));
      }
    }
  });

  it('the VPC has DNS support and DNS hostnames (needed by private endpoint DNS)', () => {
    const vpc = resource(tf, 'aws_vpc', 'main');
    assert.equal(vpc.enable_dns_support, true);
    assert.equal(vpc.enable_dns_hostnames, true);
  });

  it('public route table goes to the internet gateway; private ones have no default route; no NAT gateway', async () => {
    const publicTable = resource(tf, 'aws_route_table', 'public');
    const defaultRoutes = blocks(publicTable, 'route').filter((r) => r.cidr_block === '0.0.0.0/0');
    assert.equal(defaultRoutes.length, 1);
    assert.ok(refersTo(await references(tf, (defaultRoutes[0] as Block).gateway_id), 'aws_internet_gateway.main'));
    const publicAssociations = [];
    for (const [name, association] of resourcesOfType(tf, 'aws_route_table_association')) {
      if (refersTo(await references(tf, association.route_table_id), 'aws_route_table.public')) {
        assert.ok(refersTo(await references(tf, association.subnet_id), 'aws_subnet.public'), `association ${name}`);
        publicAssociations.push(instanceCount(tf, association));
      }
    }
    assert.deepEqual(publicAssociations, [2], 'both public subnets associated with the public table');
    for (const [name, table] of resourcesOfType(tf, 'aws_route_table')) {
      if (name === 'public') continue;
      for (const route of blocks(table, 'route')) {
        assert.ok(
          !ANYWHERE.includes(String(route.cidr_block)) && !ANYWHERE.includes(String(route.ipv6_cidr_block)),
          `aws_route_table.${name} has a default route`,
        );
      }
    }
    for (const [name, route] of resourcesOfType(tf, 'aws_route')) {
      assert.ok(
        !ANYWHERE.includes(String(resolve(tf, route.destination_cidr_block))),
        `aws_route.${name} is a default route`,
      );
    }
    assert.deepEqual(resourcesOfType(tf, 'aws_nat_gateway'), []);
  });

  it('interface endpoints for ecr.api, ecr.dkr, logs and secretsmanager, and an S3 gateway endpoint on the private route table', async () => {
    const interfaces = new Map<string, Block>();
    const gateways = new Map<string, Block>();
    for (const [, endpoint] of resourcesOfType(tf, 'aws_vpc_endpoint')) {
      for (const instance of expandForEach(tf, endpoint)) {
        const service = String(instance.service_name).replace(/^com\.amazonaws\.\$\{var\.aws_region\}\./, '');
        const type = resolve(tf, instance.vpc_endpoint_type);
        (type === 'Interface' ? interfaces : gateways).set(service, instance);
      }
    }
    for (const service of ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']) {
      const endpoint = interfaces.get(service);
      assert.ok(endpoint, `interface endpoint for ${service}`);
      assert.equal(endpoint.private_dns_enabled, true, `${service} private_dns_enabled`);
      assert.deepEqual(
        resourceAddresses(await references(tf, endpoint.subnet_ids)),
        ['aws_subnet.private'],
        `${service} subnet_ids`,
      );
      assert.deepEqual(
        resourceAddresses(await references(tf, endpoint.security_group_ids)),
        ['aws_security_group.endpoints'],
        `${service} security_group_ids`,
      );
    }
    const s3 = gateways.get('s3');
    assert.ok(s3, 'S3 gateway endpoint');
    assert.ok(refersTo(await references(tf, s3.route_table_ids), 'aws_route_table.private'));
  });

  it('no subnet maps public IPs on launch; the default security group has no rules', () => {
    for (const [name, subnet] of resourcesOfType(tf, 'aws_subnet')) {
      assert.notEqual(resolve(tf, subnet.map_public_ip_on_launch), true, `aws_subnet.${name}`);
    }
    const [entry] = resourcesOfType(tf, 'aws_default_security_group');
    assert.ok(entry, 'aws_default_security_group manages (empties) the VPC default group');
    assert.deepEqual(blocks(entry[1], 'ingress'), []);
    assert.deepEqual(blocks(entry[1], 'egress'), []);
  });

  it('four distinct security groups (a fifth for the optional RDS Proxy); the ECS service uses only the task group', async () => {
    const groups = resourcesOfType(tf, 'aws_security_group');
    assert.deepEqual(groups.map(([name]) => name).sort(), ['alb', 'endpoints', 'proxy', 'rds', 'task']);
    for (const [name, group] of groups) {
      if (name === 'proxy')
        assert.equal(group.count, '${local.proxy_count}', 'the proxy group exists with the proxy only');
      else assert.equal(group.count, undefined, name);
    }
    const network = block(resource(tf, 'aws_ecs_service', 'app'), 'network_configuration');
    assert.deepEqual(resourceAddresses(await references(tf, network.security_groups)), ['aws_security_group.task']);
  });

  it('ingress chained by group reference: ALB → task (container port) → RDS (5432); task → endpoints (443); 0.0.0.0/0 only on the ALB at 80/443', async () => {
    const rules = (await securityGroupRules(tf)).filter((r) => r.direction === 'ingress');
    const port = resolve(tf, resource(tf, 'aws_lb_target_group', 'app').port);
    const expected: Record<string, { from: string[]; port: unknown }> = {
      'aws_security_group.task': { from: ['aws_security_group.alb'], port },
      // The instance: from the tasks (the service without the proxy, and the migration task
      // always) and from the proxy.
      'aws_security_group.rds': { from: ['aws_security_group.proxy', 'aws_security_group.task'], port: 5432 },
      'aws_security_group.proxy': { from: ['aws_security_group.task'], port: 5432 },
      'aws_security_group.endpoints': { from: ['aws_security_group.task'], port: 443 },
    };
    // Optional Prometheus scrapers reach the task's container port from their own groups, given
    // by a variable that is empty by default.
    const scrapers = resource(tf, 'aws_vpc_security_group_ingress_rule', 'task_from_metrics_scrapers');
    assert.equal(scrapers.for_each, '${toset(var.metrics_scraper_security_group_ids)}');
    assert.deepEqual(resolve(tf, '${var.metrics_scraper_security_group_ids}'), []);
    assert.equal(scrapers.referenced_security_group_id, '${each.value}');
    assert.deepEqual([resolve(tf, scrapers.from_port), resolve(tf, scrapers.to_port)], [port, port]);
    for (const [group, want] of Object.entries(expected)) {
      const own = rules.filter(
        (r) => r.group === group && r.address !== 'aws_vpc_security_group_ingress_rule.task_from_metrics_scrapers',
      );
      assert.ok(own.length > 0, `${group} has an ingress rule`);
      assert.deepEqual([...new Set(own.flatMap((r) => r.peers))].sort(), want.from, `${group} sources`);
      for (const rule of own) {
        assert.equal(rule.peers.length, 1, `${rule.address} has one source group`);
        assert.ok(want.from.includes(rule.peers[0] as string), `${rule.address} source`);
        assert.deepEqual(rule.cidrs, [], `${rule.address} has no CIDR source`);
        assert.deepEqual(
          [rule.fromPort, rule.toPort, rule.protocol],
          [want.port, want.port, 'tcp'],
          `${rule.address} port`,
        );
      }
    }
    for (const rule of rules.filter((r) => r.cidrs.some((c) => ANYWHERE.includes(c)))) {
      assert.equal(rule.group, 'aws_security_group.alb', `${rule.address} opens a non-ALB group to the internet`);
      assert.ok([80, 443].includes(rule.fromPort as number) && rule.fromPort === rule.toPort, `${rule.address} ports`);
    }
  });

  it('task egress only 443 to endpoints/S3 and 5432 to RDS; no all-protocol egress to anywhere; every group and rule described', async () => {
    const rules = await securityGroupRules(tf);
    const taskEgress = rules.filter((r) => r.group === 'aws_security_group.task' && r.direction === 'egress');
    assert.ok(taskEgress.length >= 3);
    for (const rule of taskEgress) {
      assert.deepEqual(rule.cidrs, [], `${rule.address} has a CIDR destination`);
      const to443 = rule.fromPort === 443 && rule.toPort === 443;
      const ok =
        (to443 && rule.peers.length === 1 && rule.peers[0] === 'aws_security_group.endpoints') ||
        (to443 && rule.prefixLists.length === 1 && rule.prefixLists[0] === 'aws_vpc_endpoint.s3.prefix_list_id') ||
        (rule.fromPort === 5432 &&
          rule.toPort === 5432 &&
          rule.peers.length === 1 &&
          ['aws_security_group.rds', 'aws_security_group.proxy'].includes(rule.peers[0] as string));
      assert.ok(ok, `${rule.address}: ${JSON.stringify(rule)}`);
    }
    for (const rule of rules) {
      if (rule.group === 'aws_security_group.alb') continue;
      const allProtocols = rule.protocol === '-1' || rule.protocol === -1 || rule.protocol === 'all';
      assert.ok(
        !(allProtocols && rule.cidrs.some((c) => ANYWHERE.includes(c))),
        `${rule.address} allows everything to anywhere`,
      );
    }
    for (const [name, group] of resourcesOfType(tf, 'aws_security_group')) {
      assert.ok(
        typeof group.description === 'string' && group.description.length > 10,
        `aws_security_group.${name} description`,
      );
    }
    for (const rule of rules) {
      assert.ok(typeof rule.description === 'string' && rule.description.length > 5, `${rule.address} description`);
    }
  });

  it('target group: ip targets on the container port, health check GET /healthz expecting 200, short deregistration delay', () => {
    const group = resource(tf, 'aws_lb_target_group', 'app');
    assert.equal(resolve(tf, group.target_type), 'ip');
    assert.equal(
      resolve(tf, group.port),
      resolve(tf, app.portMappings && (app.portMappings as Block[])[0]?.containerPort),
    );
    assert.equal(resolve(tf, group.port), 8000);
    const health = block(group, 'health_check');
    assert.equal(health.path, '/healthz');
    assert.equal(health.matcher, '200');
    const delay = resolve(tf, group.deregistration_delay);
    assert.ok(typeof delay === 'number' && delay <= 60, `deregistration_delay ${String(delay)}`);
  });

  it('load balancer: internet-facing application LB in the public subnets, invalid headers dropped, deletion protection from a variable', async () => {
    const lb = resource(tf, 'aws_lb', 'main');
    assert.equal(lb.load_balancer_type, 'application');
    assert.equal(lb.internal, false);
    assert.deepEqual(resourceAddresses(await references(tf, lb.subnets)), ['aws_subnet.public']);
    assert.deepEqual(resourceAddresses(await references(tf, lb.security_groups)), ['aws_security_group.alb']);
    assert.equal(lb.drop_invalid_header_fields, true);
    assert.match(String(lb.enable_deletion_protection), /^\$\{var\.[a-z_]+\}$/);
    const idle = resolve(tf, lb.idle_timeout);
    assert.ok(typeof idle === 'number' && idle < 72, 'ALB idle timeout below the app keep-alive (72 s)');
  });

  it('with a certificate: HTTPS listener on a TLS 1.3 policy and port 80 redirects; without one: port 80 forwards', async () => {
    assert.equal(tf.locals.https_enabled, '${var.certificate_arn != ""}');
    assert.equal(resolve(tf, '${var.certificate_arn}'), '', 'certificate is optional (HTTP-only by default)');
    const listeners = resourcesOfType(tf, 'aws_lb_listener');
    const whenHttps = listeners.filter(([, l]) => l.count === '${local.https_enabled ? 1 : 0}');
    const whenHttp = listeners.filter(([, l]) => l.count === '${local.https_enabled ? 0 : 1}');
    assert.equal(
      whenHttps.length + whenHttp.length,
      listeners.length,
      'every listener is conditional on the certificate',
    );

    const https = whenHttps.filter(([, l]) => l.protocol === 'HTTPS');
    assert.equal(https.length, 1);
    const [, httpsListener] = https[0] as [string, Block];
    assert.equal(resolve(tf, httpsListener.port), 443);
    assert.match(String(httpsListener.ssl_policy), /^ELBSecurityPolicy-TLS13-/);
    assert.ok(refersTo(await references(tf, httpsListener.certificate_arn), 'var.certificate_arn'));
    assert.equal(block(httpsListener, 'default_action').type, 'forward');

    const redirect = whenHttps.filter(([, l]) => l.protocol === 'HTTP');
    assert.equal(redirect.length, 1);
    const [, redirectListener] = redirect[0] as [string, Block];
    assert.equal(redirectListener.port, 80);
    const action = block(redirectListener, 'default_action');
    assert.equal(action.type, 'redirect');
    assert.equal(block(action, 'redirect').protocol, 'HTTPS');

    assert.equal(whenHttp.length, 1);
    const [, forward] = whenHttp[0] as [string, Block];
    assert.deepEqual([forward.port, forward.protocol, block(forward, 'default_action').type], [80, 'HTTP', 'forward']);
  });

  it('the public listeners answer /metrics (and any percent-encoded path) with a fixed 404 before forwarding', async () => {
    // The service decodes percent-escapes (GET /%6detrics is /metrics to it): both rules are needed.
    const wanted: Record<string, string[]> = {
      metrics_not_found: ['/metrics', '/metrics/*'],
      percent_encoded_not_found: ['*%*'],
    };
    const rules = resourcesOfType(tf, 'aws_lb_listener_rule');
    assert.deepEqual(rules.map(([name]) => name).sort(), Object.keys(wanted).sort());
    const forwarding = resourcesOfType(tf, 'aws_lb_listener')
      .filter(([, l]) => block(l, 'default_action').type === 'forward')
      .map(([name]) => `aws_lb_listener.${name}`)
      .sort();
    assert.deepEqual(forwarding, ['aws_lb_listener.http_forward', 'aws_lb_listener.https']);
    for (const [name, rule] of rules) {
      // Attached to whichever listener forwards: HTTPS with a certificate, HTTP otherwise.
      assert.equal(
        tf.locals[String(rule.listener_arn).replace(/^\$\{local\.(.*)\}$/, '$1')],
        '${local.https_enabled ? aws_lb_listener.https[0].arn : aws_lb_listener.http_forward[0].arn}',
        `${name} listener`,
      );
      assert.deepEqual(
        resourceAddresses(await references(tf, rule.listener_arn)),
        forwarding,
        `${name} covers both forwarding listeners`,
      );
      const priority = resolve(tf, rule.priority) as number;
      assert.ok(Number.isInteger(priority) && priority >= 1 && priority <= 50000, `${name} priority`);
      assert.deepEqual(block(block(rule, 'condition'), 'path_pattern').values, wanted[name]);
      const action = block(rule, 'action');
      assert.equal(action.type, 'fixed-response');
      const response = resolveDeep(tf, block(action, 'fixed_response')) as Block;
      assert.equal(response.status_code, '404');
      assert.equal(response.content_type, 'application/json');
      assert.equal(response.message_body, '${jsonencode({ detail = "Not found." })}');
    }
    const priorities = rules.map(([, r]) => resolve(tf, r.priority));
    assert.equal(new Set(priorities).size, priorities.length, 'distinct priorities');
  });

  it('the ALB path patterns reject exactly what they must (evaluated as the ALB matches them)', () => {
    // ALB path patterns: case-sensitive, "*" any run of characters, "?" one character, path only.
    const patterns = resourcesOfType(tf, 'aws_lb_listener_rule').flatMap(
      ([, r]) => block(block(r, 'condition'), 'path_pattern').values as string[],
    );
    const blocked = patterns.map(
      (p) =>
        new RegExp(
          `^${p
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
        ),
    );
    const isBlocked = (path: string) => blocked.some((r) => r.test(path));
    for (const path of ['/metrics', '/metrics/', '/metrics/x', '/%6detrics', '/%6Detrics', '/m%65trics'])
      assert.ok(isBlocked(path), path);
    for (const path of ['/api/items/', '/api/items/1/', '/healthz', '/readyz', '/', '/favicon.ico', '/metricsx'])
      assert.ok(!isBlocked(path), path);
  });

  it('ECS service: Fargate LATEST in private subnets without public IP, circuit breaker with rollback, grace period, deploys ignored by Terraform', async () => {
    const service = resource(tf, 'aws_ecs_service', 'app');
    assert.equal(service.launch_type, 'FARGATE');
    assert.equal(service.platform_version, 'LATEST');
    const network = block(service, 'network_configuration');
    assert.equal(network.assign_public_ip, false);
    assert.deepEqual(resourceAddresses(await references(tf, network.subnets)), ['aws_subnet.private']);
    const breaker = block(service, 'deployment_circuit_breaker');
    assert.deepEqual([breaker.enable, breaker.rollback], [true, true]);
    const grace = resolve(tf, service.health_check_grace_period_seconds);
    assert.ok(typeof grace === 'number' && grace > 0);
    const lb = block(service, 'load_balancer');
    assert.equal(resolve(tf, lb.container_port), resolve(tf, resource(tf, 'aws_lb_target_group', 'app').port));
    assert.equal(resolve(tf, lb.container_name), resolve(tf, app.name));
    assert.ok(refersTo(await references(tf, lb.target_group_arn), 'aws_lb_target_group.app'));
    const ignored = block(service, 'lifecycle').ignore_changes as string[];
    assert.ok(ignored.includes('${task_definition}') && ignored.includes('${desired_count}'), JSON.stringify(ignored));
  });

  it('task definition: awsvpc, FARGATE, separate execution and task roles', async () => {
    const task = resource(tf, 'aws_ecs_task_definition', 'app');
    assert.equal(task.network_mode, 'awsvpc');
    assert.deepEqual(task.requires_compatibilities, ['FARGATE']);
    const execution = resourceAddresses(await references(tf, task.execution_role_arn));
    const taskRole = resourceAddresses(await references(tf, task.task_role_arn));
    assert.equal(execution.length, 1);
    assert.equal(taskRole.length, 1);
    assert.match(execution[0] as string, /^aws_iam_role\./);
    assert.match(taskRole[0] as string, /^aws_iam_role\./);
    assert.notEqual(execution[0], taskRole[0]);
  });

  it('container: DB password from the RDS secret, no secret-like env, node health check on /healthz, awslogs, read-only root, non-root, essential', async () => {
    assert.equal(containers.length, 1);
    const secrets = app.secrets as Block[];
    // PGPASSWORD: node-postgres (like libpq) reads it when the connection URL has no password.
    assert.deepEqual(
      secrets.map((s) => s.name),
      ['PGPASSWORD'],
    );
    const password = secrets[0] as Block;
    assert.match(
      String(password.valueFrom),
      /^\$\{aws_db_instance\.main\.master_user_secret\[0\]\.secret_arn\}:password::$/,
    );
    const environment = app.environment as Block[];
    for (const variable of environment)
      assert.doesNotMatch(String(variable.name), /PASS|SECRET|TOKEN|KEY/, `environment ${String(variable.name)}`);
    const health = app.healthCheck as Block;
    const command = health.command as string[];
    assert.deepEqual(command.slice(0, 2), ['CMD', 'node']);
    assert.ok(
      command.some((part) => part.includes('/healthz')),
      'probes /healthz',
    );
    assert.ok(!command.some((part) => /\b(curl|wget)\b/.test(part)), 'no curl/wget in a slim image');
    const logging = app.logConfiguration as Block;
    assert.equal(logging.logDriver, 'awslogs');
    const options = logging.options as Block;
    assert.ok(refersTo(await references(tf, options['awslogs-group']), 'aws_cloudwatch_log_group.app'));
    assert.equal(app.readonlyRootFilesystem, true);
    assert.notEqual(app.privileged, true);
    assert.match(String(app.user), /^[1-9][0-9]*(:[1-9][0-9]*)?$|^node$/, 'non-root user');
    assert.equal(
      (app.portMappings as Block[])[0]?.containerPort,
      resolve(tf, resource(tf, 'aws_lb_target_group', 'app').port),
    );
    assert.equal(app.essential, true);
  });

  it('container environment: log file off (stdout → awslogs), TLS required to PostgreSQL, DB settings from Terraform', async () => {
    const environment = Object.fromEntries((app.environment as Block[]).map((e) => [e.name, e.value]));
    assert.equal(environment.LOG_DIR, '', 'LOG_DIR="" turns the log file off on Fargate');
    assert.equal(environment.TRUST_PROXY, 'true');
    assert.ok(
      ['verify-full', 'no-verify'].includes(String(environment.PGSSLMODE)),
      `PGSSLMODE=${String(environment.PGSSLMODE)}: pg must use TLS (rds.force_ssl = 1)`,
    );
    const tlsVariable = tf.variables.get('db_tls_mode') as Block;
    const allowed = /contains\(\[([^\]]*)\], var\.db_tls_mode\)/.exec(
      String(block(tlsVariable, 'validation').condition),
    );
    assert.ok(allowed, 'db_tls_mode is validated against a list');
    for (const insecure of ['disable', 'allow', 'prefer'])
      assert.ok(!(allowed[1] as string).includes(`"${insecure}"`), insecure);
    for (const name of ['DB_POOL_MAX', 'WEB_CONCURRENCY', 'CORS_ORIGINS']) assert.ok(name in environment, name);
    for (const name of ['DB_HOST', 'DB_PASSWORD']) assert.ok(!(name in environment), `${name}: DATABASE_URL rules`);
  });

  it('database URLs: the web tasks through the proxy when enabled, migrations always on the instance; no password in them', async () => {
    const environment = Object.fromEntries((app.environment as Block[]).map((e) => [e.name, e.value]));
    assert.equal(environment.DATABASE_URL, tf.locals.database_url);
    assert.equal(environment.MIGRATION_DATABASE_URL, tf.locals.migration_database_url);
    const direct = String(tf.locals.migration_database_url);
    assert.equal(
      direct,
      'postgres://${var.db_username}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${var.db_name}',
    );
    assert.equal(
      tf.locals.database_url,
      '${var.db_proxy_enabled ? "postgres://${var.db_username}@${aws_db_proxy.main[0].endpoint}:${local.postgres_port}/${var.db_name}" : local.migration_database_url}',
    );
    assert.equal(resolve(tf, '${var.db_proxy_enabled}'), false, 'the proxy is off by default');
    // user@host: no ":password@" in either URL (the password arrives as PGPASSWORD).
    for (const url of [direct, String(tf.locals.database_url)]) assert.doesNotMatch(url, /\/\/[^/@]*:[^/@]*@/);
    for (const name of ['db_username', 'db_name']) {
      const pattern = /regex\("((?:[^"\\]|\\.)*)"/.exec(
        String(block(tf.variables.get(name) as Block, 'validation').condition),
      );
      const regex = new RegExp(JSON.parse(`"${pattern?.[1] ?? ''}"`) as string);
      assert.ok(!regex.test('a@b') && !regex.test('a/b') && !regex.test('a:b'), `${name} needs no URL escaping`);
    }
    assert.equal(environment.MIGRATE_ON_START, 'false', 'the deploy workflow migrates before every rollout');
  });

  it('the cluster has Container Insights enabled', () => {
    const settings = blocks(resource(tf, 'aws_ecs_cluster', 'main'), 'setting');
    assert.ok(
      settings.some((s) => s.name === 'containerInsights' && ['enabled', 'enhanced'].includes(String(s.value))),
    );
  });

  it('ECR: immutable tags, scan on push, lifecycle policy expiring untagged images and keeping the last N', async () => {
    const repository = resource(tf, 'aws_ecr_repository', 'app');
    assert.equal(repository.image_tag_mutability, 'IMMUTABLE');
    assert.equal(block(repository, 'image_scanning_configuration').scan_on_push, true);
    const policies = resourcesOfType(tf, 'aws_ecr_lifecycle_policy');
    assert.equal(policies.length, 1);
    const [, policy] = policies[0] as [string, Block];
    assert.ok(refersTo(await references(tf, policy.repository), 'aws_ecr_repository.app'));
    const local = /^\$\{jsonencode\(local\.([a-z_]+)\)\}$/.exec(String(policy.policy));
    assert.ok(local, 'lifecycle policy is jsonencode(local.<name>)');
    const rules = (resolveDeep(tf, tf.locals[local[1] as string]) as { rules: Block[] }).rules;
    const selections = rules.map((r) => r.selection as Block);
    assert.ok(
      selections.some(
        (s) => s.tagStatus === 'untagged' && s.countType === 'sinceImagePushed' && s.countUnit === 'days',
      ),
    );
    assert.ok(
      selections.some(
        (s) => s.countType === 'imageCountMoreThan' && typeof s.countNumber === 'number' && s.countNumber >= 5,
      ),
    );
    for (const rule of rules) assert.equal((rule.action as Block).type, 'expire');
  });

  it('RDS is private, encrypted, backed up, with a managed master password', async () => {
    const db = resource(tf, 'aws_db_instance', 'main');
    assert.equal(db.engine, 'postgres');
    assert.equal(db.publicly_accessible, false, 'publicly_accessible must be the literal false');
    assert.equal(db.storage_encrypted, true, 'storage_encrypted must be true');
    const retention = resolve(tf, db.backup_retention_period);
    assert.ok(typeof retention === 'number' && retention >= 7, `backup_retention_period ${String(retention)}`);
    assert.match(String(db.deletion_protection), /^\$\{var\.[a-z_]+\}$/);
    assert.equal(resolve(tf, db.deletion_protection), true, 'deletion protection on by default');
    assert.equal(db.skip_final_snapshot, false, 'skip_final_snapshot must be false');
    assert.match(String(db.multi_az), /^\$\{var\.[a-z_]+\}$/);
    assert.equal(db.manage_master_user_password, true, 'RDS must manage the master password');
    assert.ok(!('password' in db) && !('password_wo' in db), 'no password attribute');
    const subnetGroups = resourceAddresses(await references(tf, db.db_subnet_group_name));
    assert.deepEqual(subnetGroups, ['aws_db_subnet_group.main']);
    const subnetGroup = resource(tf, 'aws_db_subnet_group', 'main');
    assert.deepEqual(resourceAddresses(await references(tf, subnetGroup.subnet_ids)), ['aws_subnet.private']);
    assert.deepEqual(resourceAddresses(await references(tf, db.vpc_security_group_ids)), ['aws_security_group.rds']);
    assert.equal(db.auto_minor_version_upgrade, true);
    assert.equal(db.copy_tags_to_snapshot, true);
    assert.ok((db.enabled_cloudwatch_logs_exports as string[]).includes('postgresql'));
    assert.equal(db.performance_insights_enabled, true);
  });

  it('optional RDS Proxy: off by default, TLS required, the RDS-managed secret through its own role, in the private subnets', async () => {
    assert.equal(tf.locals.proxy_count, '${var.db_proxy_enabled ? 1 : 0}');
    assert.equal(resolve(tf, '${var.db_proxy_enabled}'), false);
    const proxyResources = [
      'aws_db_proxy.main',
      'aws_db_proxy_default_target_group.main',
      'aws_db_proxy_target.main',
      'aws_iam_role.db_proxy',
      'aws_iam_role_policy.db_proxy',
      'aws_security_group.proxy',
      'aws_vpc_security_group_ingress_rule.proxy_from_task',
      'aws_vpc_security_group_egress_rule.proxy_to_rds',
      'aws_vpc_security_group_ingress_rule.rds_from_proxy',
      'aws_vpc_security_group_egress_rule.task_to_proxy',
    ];
    for (const address of proxyResources) {
      assert.equal(tf.resources.get(address)?.count, '${local.proxy_count}', `${address} exists with the proxy only`);
    }
    const proxy = resource(tf, 'aws_db_proxy', 'main');
    assert.equal(proxy.engine_family, 'POSTGRESQL');
    assert.equal(proxy.require_tls, true, 'require_tls must be the literal true');
    assert.deepEqual(resourceAddresses(await references(tf, proxy.vpc_subnet_ids)), ['aws_subnet.private']);
    assert.deepEqual(resourceAddresses(await references(tf, proxy.vpc_security_group_ids)), [
      'aws_security_group.proxy',
    ]);
    assert.deepEqual(resourceAddresses(await references(tf, proxy.role_arn)), ['aws_iam_role.db_proxy']);
    const auth = block(proxy, 'auth');
    assert.deepEqual(
      [auth.auth_scheme, auth.iam_auth, auth.client_password_auth_type],
      ['SECRETS', 'DISABLED', 'POSTGRES_SCRAM_SHA_256'],
    );
    assert.ok(
      (await references(tf, auth.secret_arn)).includes('aws_db_instance.main.master_user_secret.0.secret_arn'),
      'the proxy logs in with the RDS-managed master secret',
    );

    const role = resource(tf, 'aws_iam_role', 'db_proxy');
    const trust = statements(tf, await policyDocument(tf, role.assume_role_policy));
    assert.deepEqual(
      trust.map((t) => [actionsOf(t), principalIdentifiers(t, 'Service')]),
      [[['sts:AssumeRole'], ['rds.amazonaws.com']]],
    );
    const policy = resource(tf, 'aws_iam_role_policy', 'db_proxy');
    assert.ok(refersTo(await references(tf, policy.role), 'aws_iam_role.db_proxy'));
    const doc = await policyDocument(tf, policy.policy);
    const granted = blocks(doc, 'statement');
    assert.equal(granted.length, 1);
    assert.deepEqual(actionsOf(granted[0] as Block), ['secretsmanager:GetSecretValue']);
    assert.ok(
      (await references(tf, (granted[0] as Block).resources)).includes(
        'aws_db_instance.main.master_user_secret.0.secret_arn',
      ),
      'GetSecretValue on the DB secret only',
    );

    const target = resource(tf, 'aws_db_proxy_target', 'main');
    assert.ok(refersTo(await references(tf, target.db_instance_identifier), 'aws_db_instance.main'));
    assert.ok(refersTo(await references(tf, target.target_group_name), 'aws_db_proxy_default_target_group.main'));
    const pool = block(resource(tf, 'aws_db_proxy_default_target_group', 'main'), 'connection_pool_config');
    const percent = resolve(tf, pool.max_connections_percent) as number;
    assert.ok(percent > 0 && percent < 100, `max_connections_percent ${percent} leaves room for direct connections`);
    const borrow = resolve(tf, pool.connection_borrow_timeout) as number;
    assert.ok(borrow > 0 && borrow <= 30, `connection_borrow_timeout ${borrow} s (default 120)`);
    assert.equal(pool.init_query, undefined, 'no session state set behind the service');
    assert.equal(pool.session_pinning_filters, undefined, 'no pinning filters (MySQL only)');
  });

  it('connection budget at the defaults fits db.t4g.micro, during a rollout at full scale, with and without the proxy', () => {
    // RDS for PostgreSQL's default max_connections is LEAST({DBInstanceClassMemory/9531392}, 5000)
    // (AWS Prescriptive Guidance, "Tuning PostgreSQL parameters": max_connections). db.t4g.micro
    // has 1 GiB; DBInstanceClassMemory is less than that (the OS and RDS's own processes keep some),
    // so the formula's 112 is an upper bound: plan within 75 % of it.
    assert.equal(resolve(tf, '${var.db_instance_class}'), 'db.t4g.micro', 'update the budget below with the class');
    const maxConnections = Math.min(Math.floor(2 ** 30 / 9531392), 5000);
    assert.equal(maxConnections, 112);
    const planned = Math.floor(maxConnections * 0.75);
    const superuserReserved = 3; // PostgreSQL's superuser_reserved_connections default
    const service = resource(tf, 'aws_ecs_service', 'app');
    const tasks =
      ((resolve(tf, '${var.autoscaling_max_capacity}') as number) *
        (resolve(tf, service.deployment_maximum_percent) as number)) /
      100;
    const workers = resolve(tf, '${var.web_concurrency}') as number;
    const pool = resolve(tf, '${var.db_pool_max}') as number;
    assert.equal(tasks, 12, 'a rollout at full scale runs old and new tasks side by side');
    // Without the proxy: every worker's pool and its readiness probe's own connection, plus the
    // migration task (one process).
    const direct = tasks * workers * (pool + 1) + pool;
    assert.ok(direct + superuserReserved <= planned, `direct: ${direct} + ${superuserReserved} > ${planned}`);
    // With the proxy: its share of max_connections, plus the migration task, which stays direct.
    const percent = resolve(tf, '${var.db_proxy_max_connections_percent}') as number;
    const proxied = Math.floor((maxConnections * percent) / 100) + pool;
    assert.ok(proxied + superuserReserved <= maxConnections, `proxied: ${proxied}`);
  });

  it('the DB parameter group forces TLS (rds.force_ssl = 1) and the instance uses it', async () => {
    const group = resource(tf, 'aws_db_parameter_group', 'main');
    const forceSsl = blocks(group, 'parameter').filter((p) => p.name === 'rds.force_ssl');
    assert.equal(forceSsl.length, 1);
    assert.equal(String((forceSsl[0] as Block).value), '1');
    assert.ok(
      refersTo(
        await references(tf, resource(tf, 'aws_db_instance', 'main').parameter_group_name),
        'aws_db_parameter_group.main',
      ),
    );
  });

  it('execution role: trusted by ecs-tasks, pull/log actions, GetSecretValue on the DB secret only; task role has no wildcard action', async () => {
    const execution = resource(tf, 'aws_iam_role', 'execution');
    const trust = statements(tf, await policyDocument(tf, execution.assume_role_policy));
    assert.ok(
      trust.some(
        (s) =>
          actionsOf(s).includes('sts:AssumeRole') &&
          principalIdentifiers(s, 'Service').includes('ecs-tasks.amazonaws.com'),
      ),
    );

    const policies = resourcesOfType(tf, 'aws_iam_role_policy');
    const executionPolicies = [];
    for (const [, p] of policies)
      if (refersTo(await references(tf, p.role), 'aws_iam_role.execution')) executionPolicies.push(p);
    assert.equal(executionPolicies.length, 1);
    const doc = await policyDocument(tf, (executionPolicies[0] as Block).policy);
    const all = statements(tf, doc);
    const actions = all.flatMap(actionsOf);
    for (const needed of [
      'ecr:GetAuthorizationToken',
      'ecr:BatchGetImage',
      'ecr:GetDownloadUrlForLayer',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]) {
      assert.ok(actions.includes(needed), needed);
    }
    const secretStatements = blocks(doc, 'statement').filter((s) =>
      actionsOf(s).some((a) => a.startsWith('secretsmanager:')),
    );
    assert.equal(secretStatements.length, 1);
    const secret = secretStatements[0] as Block;
    assert.deepEqual(actionsOf(secret), ['secretsmanager:GetSecretValue']);
    const secretRefs = resourceAddresses(await references(tf, secret.resources));
    assert.deepEqual(secretRefs, ['aws_db_instance.main']);
    assert.ok(
      (await references(tf, secret.resources)).includes('aws_db_instance.main.master_user_secret.0.secret_arn'),
    );

    for (const [type, attribute] of [
      ['aws_iam_role_policy', 'role'],
      ['aws_iam_role_policy_attachment', 'role'],
    ] as const) {
      for (const [name, p] of resourcesOfType(tf, type)) {
        if (!refersTo(await references(tf, p[attribute]), 'aws_iam_role.task')) continue;
        assert.ok(type !== 'aws_iam_role_policy_attachment', `${type}.${name}: no managed policies on the task role`);
        for (const s of statements(tf, await policyDocument(tf, p.policy))) {
          for (const action of actionsOf(s))
            assert.ok(!action.includes('*'), `${type}.${name}: wildcard action ${action}`);
        }
      }
    }
  });

  it('GitHub OIDC provider, and a deploy role trusted only by this repository’s main-branch deploy job', async () => {
    const provider = resource(tf, 'aws_iam_openid_connect_provider', 'github');
    assert.equal(provider.url, 'https://token.actions.githubusercontent.com');
    assert.deepEqual(provider.client_id_list, ['sts.amazonaws.com']);

    const trust = statements(tf, await policyDocument(tf, resource(tf, 'aws_iam_role', 'deploy').assume_role_policy));
    assert.equal(trust.length, 1);
    const statement = trust[0] as Block;
    assert.deepEqual(actionsOf(statement), ['sts:AssumeRoleWithWebIdentity']);
    const federated = await references(
      tf,
      blocks(
        blocks(dataSource(tf, 'aws_iam_policy_document', 'github_trust'), 'statement')[0] as Block,
        'principals',
      )[0]?.identifiers,
    );
    assert.ok(refersTo(federated, 'aws_iam_openid_connect_provider.github'));
    const byVariable = Object.fromEntries(conditions(statement).map((c) => [c.variable, c]));
    const aud = byVariable['token.actions.githubusercontent.com:aud'] as Block;
    assert.deepEqual([aud.test, aud.values], ['StringEquals', ['sts.amazonaws.com']]);
    const sub = byVariable['token.actions.githubusercontent.com:sub'] as Block;
    assert.equal(sub.test, 'StringEquals', 'no StringLike wildcards on the subject');
    const subjects = [...String((sub.values as string[])[0]).matchAll(/"(repo:[^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(subjects.sort(), [
      'repo:${var.github_owner}/${var.github_repo}:environment:${var.github_environment}',
      'repo:${var.github_owner}/${var.github_repo}:ref:refs/heads/main',
    ]);
    for (const name of ['github_owner', 'github_repo', 'github_environment']) {
      const variable = tf.variables.get(name) as Block;
      const pattern = /regex\("((?:[^"\\]|\\.)*)"/.exec(String(block(variable, 'validation').condition));
      assert.ok(pattern, `${name} is validated by a regex`);
      const regex = new RegExp(JSON.parse(`"${pattern[1] as string}"`) as string);
      assert.ok(!regex.test('*') && !regex.test('org*') && !regex.test('a/b'), `${name} rejects wildcards and slashes`);
      assert.ok(regex.test('octo-org'), `${name} accepts a plain name`);
    }
  });

  it('deploy policy: ECR push on the repository, ECS deploy/migrate on this service and family, PassRole only for the task roles to ECS; no IAM users or keys', async () => {
    const doc = dataSource(tf, 'aws_iam_policy_document', 'deploy');
    const resolved = statements(tf, doc);
    const raw = blocks(doc, 'statement');
    const noResourceLevel = new Set([
      'ecr:GetAuthorizationToken',
      'ecs:RegisterTaskDefinition',
      'ecs:DescribeTaskDefinition',
    ]);
    for (const [i, statement] of resolved.entries()) {
      const actions = actionsOf(statement);
      assert.equal(statement.effect ?? 'Allow', 'Allow');
      for (const action of actions) assert.ok(!action.includes('*'), `wildcard action ${action}`);
      if ((statement.resources as string[]).includes('*')) {
        for (const action of actions) assert.ok(noResourceLevel.has(action), `${action} on "*"`);
      }
      // Account id and partition (data sources) aside, which resources does the statement name?
      const refs = resourceAddresses(await references(tf, (raw[i] as Block).resources)).filter(
        (a) => !a.startsWith('data.'),
      );
      if (actions.some((a) => a.startsWith('ecr:') && a !== 'ecr:GetAuthorizationToken')) {
        assert.deepEqual(refs, ['aws_ecr_repository.app'], `ECR statement ${String(statement.sid)}`);
      }
      if (actions.includes('ecs:UpdateService') || actions.includes('ecs:DescribeServices')) {
        assert.ok(
          refs.includes('aws_ecs_service.app') && refs.includes('aws_ecs_cluster.main'),
          `service statement ${String(statement.sid)}`,
        );
      }
      if (actions.includes('ecs:RunTask')) {
        assert.deepEqual(refs, ['aws_ecs_task_definition.app'], 'RunTask only for the app family');
        assert.ok(
          conditions(statement).some((c) => c.variable === 'ecs:cluster'),
          'RunTask only on this cluster',
        );
      }
      if (actions.includes('iam:PassRole')) {
        assert.deepEqual(actions, ['iam:PassRole']);
        assert.deepEqual(refs, ['aws_iam_role.execution', 'aws_iam_role.task']);
        const passed = conditions(statement).find((c) => c.variable === 'iam:PassedToService');
        assert.deepEqual([passed?.test, passed?.values], ['StringEquals', ['ecs-tasks.amazonaws.com']]);
      }
    }
    const allActions = resolved.flatMap(actionsOf);
    for (const needed of [
      'ecr:PutImage',
      'ecr:UploadLayerPart',
      'ecs:RegisterTaskDefinition',
      'ecs:UpdateService',
      'ecs:DescribeServices',
      'ecs:RunTask',
      'ecs:DescribeTasks',
      'iam:PassRole',
    ]) {
      assert.ok(allActions.includes(needed), needed);
    }
    const attached = resourcesOfType(tf, 'aws_iam_role_policy').find(([name]) => name === 'deploy')?.[1];
    assert.ok(attached && refersTo(await references(tf, attached.policy), 'data.aws_iam_policy_document.deploy'));
    assert.deepEqual(resourcesOfType(tf, 'aws_iam_role_policy_attachment'), [], 'no managed (broad) policies attached');
    assert.deepEqual(resourcesOfType(tf, 'aws_iam_user'), []);
    assert.deepEqual(resourcesOfType(tf, 'aws_iam_access_key'), []);
  });

  it('the service log group keeps 14–30 days and the container logs to it', async () => {
    const group = resource(tf, 'aws_cloudwatch_log_group', 'app');
    const days = resolve(tf, group.retention_in_days);
    assert.ok(typeof days === 'number' && days >= 14 && days <= 30, `retention_in_days ${String(days)}`);
    const options = (app.logConfiguration as Block).options as Block;
    assert.ok(refersTo(await references(tf, options['awslogs-group']), 'aws_cloudwatch_log_group.app'));
  });

  it('alarms on ECS CPU, ALB and target 5xx, p95 response time, unhealthy hosts, RDS CPU and free storage, all to the SNS topic', async () => {
    const [, cpu] = alarmOn(tf, 'AWS/ECS', 'CPUUtilization');
    assert.deepEqual(Object.keys(cpu.dimensions as Block).sort(), ['ClusterName', 'ServiceName']);
    for (const metric of ['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count']) {
      const [, alarm] = alarmOn(tf, 'AWS/ApplicationELB', metric);
      assert.equal((alarm.dimensions as Block).LoadBalancer, '${aws_lb.main.arn_suffix}');
      assert.equal(alarm.treat_missing_data, 'notBreaching');
    }
    const [, latency] = alarmOn(tf, 'AWS/ApplicationELB', 'TargetResponseTime');
    assert.match(String(latency.extended_statistic), /^p(95|99)$/);
    assert.deepEqual(latency.dimensions, {
      LoadBalancer: '${aws_lb.main.arn_suffix}',
      TargetGroup: '${aws_lb_target_group.app.arn_suffix}',
    });
    const [, unhealthy] = alarmOn(tf, 'AWS/ApplicationELB', 'UnHealthyHostCount');
    assert.equal((unhealthy.dimensions as Block).TargetGroup, '${aws_lb_target_group.app.arn_suffix}');
    const [, rdsCpu] = alarmOn(tf, 'AWS/RDS', 'CPUUtilization');
    const [, storage] = alarmOn(tf, 'AWS/RDS', 'FreeStorageSpace');
    for (const alarm of [rdsCpu, storage]) {
      assert.ok(
        refersTo(await references(tf, (alarm.dimensions as Block).DBInstanceIdentifier), 'aws_db_instance.main'),
      );
    }
    assert.equal(storage.comparison_operator, 'LessThanThreshold');
    for (const [name, alarm] of resourcesOfType(tf, 'aws_cloudwatch_metric_alarm')) {
      for (const key of ['alarm_actions', 'ok_actions']) {
        assert.deepEqual(
          resourceAddresses(await references(tf, alarm[key])),
          ['aws_sns_topic.alerts'],
          `${name}.${key}`,
        );
      }
    }
  });

  it('SNS topic with an e-mail subscription from a variable, publishable by CloudWatch and Budgets, not under alias/aws/sns', async () => {
    const topic = resource(tf, 'aws_sns_topic', 'alerts');
    assert.notEqual(resolve(tf, topic.kms_master_key_id), 'alias/aws/sns');
    const subscriptions = resourcesOfType(tf, 'aws_sns_topic_subscription');
    assert.equal(subscriptions.length, 1);
    const [, subscription] = subscriptions[0] as [string, Block];
    assert.match(String(subscription.endpoint), /^\$\{var\.[a-z_]+\}$/);
    assert.doesNotMatch(String(resolve(tf, subscription.endpoint)), /@/, 'no literal e-mail address as a default');
    const [, policy] = resourcesOfType(tf, 'aws_sns_topic_policy')[0] as [string, Block];
    assert.ok(refersTo(await references(tf, policy.arn), 'aws_sns_topic.alerts'));
    const publish = statements(tf, await policyDocument(tf, policy.policy)).filter((s) =>
      actionsOf(s).includes('sns:Publish'),
    );
    const services = publish.flatMap((s) => principalIdentifiers(s, 'Service'));
    assert.ok(
      services.includes('cloudwatch.amazonaws.com') && services.includes('budgets.amazonaws.com'),
      JSON.stringify(services),
    );
    const [, key] = resourcesOfType(tf, 'aws_kms_key')[0] as [string, Block];
    assert.equal(key.enable_key_rotation, true);
    const keyUsers = statements(tf, await policyDocument(tf, key.policy)).flatMap((s) =>
      principalIdentifiers(s, 'Service'),
    );
    assert.ok(
      keyUsers.includes('cloudwatch.amazonaws.com') && keyUsers.includes('budgets.amazonaws.com'),
      'publishers may use the topic key',
    );
  });

  it('monthly cost budget from a variable, alerting at 80 % actual and 100 % forecast; no "$${" in any string', async () => {
    const budgets = resourcesOfType(tf, 'aws_budgets_budget');
    assert.equal(budgets.length, 1);
    const [, budget] = budgets[0] as [string, Block];
    assert.equal(budget.budget_type, 'COST');
    assert.equal(budget.time_unit, 'MONTHLY');
    assert.ok(
      (await references(tf, budget.limit_amount)).some((r) => r.startsWith('var.')),
      'limit_amount from a variable',
    );
    const notifications = blocks(budget, 'notification').map((n) => [
      n.notification_type,
      n.threshold,
      n.threshold_type,
    ]);
    assert.deepEqual(notifications.sort(), [
      ['ACTUAL', 80, 'PERCENTAGE'],
      ['FORECASTED', 100, 'PERCENTAGE'],
    ]);
    for (const notification of blocks(budget, 'notification')) {
      const subscribers = [
        ...(await references(tf, notification.subscriber_sns_topic_arns)),
        ...(await references(tf, notification.subscriber_email_addresses)),
      ];
      assert.ok(subscribers.length > 0, 'each notification has a subscriber');
    }
    for (const [name, text] of tf.files)
      assert.ok(!text.includes('$${'), `${name} contains "$\${" (an escaped, never-interpolated reference)`);
  });

  it('target-tracking autoscaling of the service on CPU and ALB requests per target', async () => {
    const target = resource(tf, 'aws_appautoscaling_target', 'ecs');
    assert.equal(target.service_namespace, 'ecs');
    assert.equal(target.scalable_dimension, 'ecs:service:DesiredCount');
    assert.equal(target.resource_id, 'service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}');
    const min = resolve(tf, target.min_capacity) as number;
    const max = resolve(tf, target.max_capacity) as number;
    assert.ok(min >= 1 && max > min, `min ${min}, max ${max}`);
    const metrics = [];
    for (const [name, policy] of resourcesOfType(tf, 'aws_appautoscaling_policy')) {
      assert.equal(policy.policy_type, 'TargetTrackingScaling', name);
      assert.ok(refersTo(await references(tf, policy.resource_id), 'aws_appautoscaling_target.ecs'), name);
      const spec = block(
        block(policy, 'target_tracking_scaling_policy_configuration'),
        'predefined_metric_specification',
      );
      metrics.push(spec.predefined_metric_type);
      if (spec.predefined_metric_type === 'ALBRequestCountPerTarget') {
        assert.equal(spec.resource_label, '${aws_lb.main.arn_suffix}/${aws_lb_target_group.app.arn_suffix}');
      }
    }
    assert.deepEqual(metrics.sort(), ['ALBRequestCountPerTarget', 'ECSServiceAverageCPUUtilization']);
  });

  it('pinned Terraform and AWS provider, default tags, no credentials, no registry modules, terraform fmt layout', () => {
    const settings = tf.terraform.find((t) => 'required_version' in t) as Block;
    assert.ok(settings, 'terraform.required_version');
    assert.match(String(settings.required_version), />=\s*1\.\d+/);
    const aws = (block(settings, 'required_providers') as Record<string, Block>).aws as Block;
    assert.equal(aws.source, 'hashicorp/aws');
    assert.match(String(aws.version), /^~>\s*[56]\.\d+/);
    const providers = tf.providers.get('aws') ?? [];
    assert.equal(providers.length, 1);
    const provider = providers[0] as Block;
    assert.ok(blocks(provider, 'default_tags').length === 1, 'default_tags');
    for (const forbidden of ['profile', 'access_key', 'secret_key', 'token', 'shared_credentials_files']) {
      assert.ok(!(forbidden in provider), `provider "aws" sets ${forbidden}`);
    }
    for (const [name, module] of tf.modules)
      assert.match(String(module.source), /^\.\.?\//, `module ${name} must be local`);
    for (const [name, text] of tf.files)
      assert.deepEqual(formatProblems(text), [], `${name} is not terraform fmt clean`);
    let terraform = '';
    try {
      terraform = execFileSync('sh', ['-c', 'command -v terraform'], { encoding: 'utf8' }).trim();
    } catch {
      // no terraform binary here: the layout check above stands in for `terraform fmt -check`.
    }
    if (terraform) execFileSync(terraform, ['fmt', '-check', '-recursive', TERRAFORM_DIR], { stdio: 'inherit' });
  });

  it('the fmt layout check rejects misaligned "=" and wrong indentation', () => {
    assert.deepEqual(formatProblems('a = 1\nbbb = 2\n'), ['line 1: "=" at column 3, terraform fmt puts it at 5']);
    assert.deepEqual(formatProblems('x {\n a = 1\n}\n'), ['line 2: indented 1, want 2']);
    assert.deepEqual(formatProblems('x {\n  a = [\n    1,\n  ]\n  bb = 2\n}\n'), []);
  });

  it('every variable is documented, typed, and validated unless it is a bool', () => {
    assert.ok(tf.variables.size >= 20);
    for (const [name, variable] of tf.variables) {
      assert.ok(
        typeof variable.description === 'string' && variable.description.length >= 20,
        `var.${name} description`,
      );
      assert.ok(typeof variable.type === 'string', `var.${name} type`);
      if (variable.type !== '${bool}') assert.ok(blocks(variable, 'validation').length >= 1, `var.${name} validation`);
      for (const validation of blocks(variable, 'validation')) {
        assert.ok(String(validation.condition).includes(`var.${name}`), `var.${name} validation tests the variable`);
      }
    }
  });

  it('outputs give the operator and the deploy workflow the ALB URL, ECR repository, cluster, service, family and migration network', async () => {
    const expected: Record<string, string> = {
      alb_url: 'aws_lb.main',
      ecr_repository_url: 'aws_ecr_repository.app',
      ecs_cluster_name: 'aws_ecs_cluster.main',
      ecs_service_name: 'aws_ecs_service.app',
      ecs_task_family: 'aws_ecs_task_definition.app',
      private_subnet_ids: 'aws_subnet.private',
      task_security_group_id: 'aws_security_group.task',
      deploy_role_arn: 'aws_iam_role.deploy',
    };
    for (const [name, address] of Object.entries(expected)) {
      const output = tf.outputs.get(name);
      assert.ok(output, `output ${name}`);
      assert.ok(typeof output.description === 'string' && output.description.length > 10, `output ${name} description`);
      assert.ok(refersTo(await references(tf, output.value), address), `output ${name} → ${address}`);
    }
  });
});
