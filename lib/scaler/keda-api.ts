// KEDA's externalscaler.ExternalScaler service over the codec protobufjs generates from
// proto/externalscaler.proto at build time: the server definition this scaler serves, and the
// client constructor tests and benchmarks use as KEDA does.
import * as grpc from '@grpc/grpc-js';
import { externalscaler } from '../gen/externalscaler.js';
import { grpcMethod, type GeneratedMessage } from '../grpc-method.js';

export interface ScaledObjectRefMsg {
  name: string;
  namespace: string;
  scalerMetadata: Record<string, string>;
}

export interface IsActiveResponseMsg {
  result: boolean;
}

export interface MetricSpecMsg {
  metricName: string;
  targetSize: number;
  targetSizeFloat: number;
}

export interface GetMetricSpecResponseMsg {
  metricSpecs: MetricSpecMsg[];
}

export interface GetMetricsRequestMsg {
  scaledObjectRef: ScaledObjectRefMsg | null;
  metricName: string;
}

export interface MetricValueMsg {
  metricName: string;
  metricValue: number;
  metricValueFloat: number;
}

export interface GetMetricsResponseMsg {
  metricValues: MetricValueMsg[];
}

const SERVICE = 'externalscaler.ExternalScaler';
const type = <T>(m: unknown) => m as GeneratedMessage<T>;
const Ref = type<ScaledObjectRefMsg>(externalscaler.ScaledObjectRef);
const IsActive = type<IsActiveResponseMsg>(externalscaler.IsActiveResponse);

// targetSize and metricValue are never near 2^53: numbers are exact for them
const LONGS = { longs: Number };

let cached: grpc.ServiceClientConstructor | null = null;

/** The ExternalScaler client constructor; its `.service` is the server definition. */
export function externalScalerApi(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const service: grpc.ServiceDefinition = {
    IsActive: grpcMethod(SERVICE, 'IsActive', Ref, IsActive),
    StreamIsActive: grpcMethod(SERVICE, 'StreamIsActive', Ref, IsActive, { responseStream: true }),
    GetMetricSpec: grpcMethod(SERVICE, 'GetMetricSpec', Ref, type<GetMetricSpecResponseMsg>(externalscaler.GetMetricSpecResponse), LONGS),
    GetMetrics: grpcMethod(
      SERVICE,
      'GetMetrics',
      type<GetMetricsRequestMsg>(externalscaler.GetMetricsRequest),
      type<GetMetricsResponseMsg>(externalscaler.GetMetricsResponse),
      LONGS,
    ),
  };
  cached = grpc.makeGenericClientConstructor(service, 'ExternalScaler');
  return cached;
}
