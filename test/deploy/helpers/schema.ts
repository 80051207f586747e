// Offline validation of Kubernetes, KEDA and Prometheus Operator objects.
// 1. The kubernetes-models validators (JSON schema, compiled): types, enums, required fields.
// 2. Unknown fields, which those schemas accept (they never set additionalProperties: false).
//    The compiled validators read every property their schema lists (`data.<name>`), and walk the
//    keys of maps (additionalProperties). Running a validator over a recording Proxy of the
//    document tells us, per object, which keys the schema knows; a key it never asked for, in an
//    object whose schema lists properties and is not a map, is unknown.
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Certificate, ClusterIssuer, Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PodMonitor, PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

interface Validatable { validate(): void }
type ModelClass = { new (data: never): Validatable; prototype: Validatable };

const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace as unknown as ModelClass,
  'v1/ServiceAccount': ServiceAccount as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'v1/ConfigMap': ConfigMap as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/Role': Role as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as unknown as ModelClass,
  'apps/v1/DaemonSet': DaemonSet as unknown as ModelClass,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelClass,
  'cert-manager.io/v1/Certificate': Certificate as unknown as ModelClass,
  'cert-manager.io/v1/Issuer': Issuer as unknown as ModelClass,
  'cert-manager.io/v1/ClusterIssuer': ClusterIssuer as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as unknown as ModelClass,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject as unknown as ModelClass,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication as unknown as ModelClass,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor as unknown as ModelClass,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor as unknown as ModelClass,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule as unknown as ModelClass,
};

// Azure Managed Prometheus reads the Prometheus Operator's ServiceMonitor/PodMonitor schema under
// its own API group.
const GROUP_ALIASES: Record<string, string> = { 'azmonitoring.coreos.com/v1': 'monitoring.coreos.com/v1' };

export type K8sObject = { apiVersion?: unknown; kind?: unknown; [key: string]: unknown };

export function kindKey(doc: K8sObject): string {
  const apiVersion = String(doc.apiVersion ?? '');
  return `${GROUP_ALIASES[apiVersion] ?? apiVersion}/${String(doc.kind ?? '')}`;
}

function modelFor(doc: K8sObject): ModelClass | undefined {
  return MODELS[kindKey(doc)];
}

/** The document as its model expects it (an aliased API group replaced by the model's). */
function canonical(doc: K8sObject): K8sObject {
  const alias = GROUP_ALIASES[String(doc.apiVersion)];
  return alias ? { ...doc, apiVersion: alias } : doc;
}

interface Access { got: Set<string>; enumerated: boolean }

function record(value: unknown, path: string, log: Map<string, { access: Access; value: object }>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const access: Access = { got: new Set(), enumerated: false };
  log.set(path, { access, value });
  const copy: unknown = Array.isArray(value)
    ? value.map((v, i) => record(v, `${path}/${i}`, log))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, record(v, `${path}/${k}`, log)]));
  return new Proxy(copy as object, {
    get(target, key, receiver) {
      if (typeof key === 'string') access.got.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === 'string') access.got.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      access.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** Paths (`/spec/template/.../resourcez`) of keys the object's schema does not know. */
export function unknownFields(doc: K8sObject): string[] {
  const model = modelFor(doc);
  if (!model) return [];
  const log = new Map<string, { access: Access; value: object }>();
  const proxy = record(canonical(doc), '', log);
  try {
    model.prototype.validate.call(proxy);
  } catch {
    // Schema errors are reported by schemaErrors(); here only the accesses matter.
  }
  const unknown: string[] = [];
  for (const [path, { access, value }] of log) {
    if (Array.isArray(value) || access.enumerated || access.got.size === 0) continue;
    for (const key of Object.keys(value)) {
      if (!access.got.has(key)) unknown.push(`${path}/${key}`);
    }
  }
  return unknown;
}

/** The model's own validation errors (empty when valid). */
export function schemaErrors(doc: K8sObject): string[] {
  const model = modelFor(doc);
  if (!model) {
    return [`no schema for ${kindKey(doc)}: add its kubernetes-models class to test/deploy/helpers/schema.ts`];
  }
  try {
    new model(canonical(doc) as never).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Every problem with one object: schema errors, then unknown fields. */
export function validateObject(doc: K8sObject): string[] {
  const errors = schemaErrors(doc);
  for (const path of unknownFields(doc)) errors.push(`unknown field ${path}`);
  return errors;
}
