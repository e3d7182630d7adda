import { describe, expect, it } from 'vitest';
import { eventBusNameOf, resolveIntrinsics } from '../../local/stack/template-resolver.js';
import { eventsTemplate } from '../../testkit/events-template.js';

const template = eventsTemplate();
const resolve = (value: unknown) => resolveIntrinsics(template, value);

describe('resolveIntrinsics for the event resources', () => {
  it('names an event bus by the Name CDK gave it, whether by Ref or Fn::GetAtt Name', () => {
    expect(resolve({ Ref: 'Bus' })).toBe('CompletionBus');
    expect(resolve({ 'Fn::GetAtt': ['Bus', 'Name'] })).toBe('CompletionBus');
    expect(resolve({ 'Fn::GetAtt': ['Bus', 'Arn'] })).toBe('arn:aws:events:us-east-1:000000000000:event-bus/CompletionBus');
  });

  it('gives rules their ARN, with the bus in it only for a custom bus', () => {
    expect(resolve({ 'Fn::GetAtt': ['UploadRule', 'Arn'] })).toBe('arn:aws:events:us-east-1:000000000000:rule/UploadRule');
    expect(resolve({ 'Fn::GetAtt': ['AuditRule', 'Arn'] })).toBe('arn:aws:events:us-east-1:000000000000:rule/CompletionBus/AuditRule');
    expect(resolve({ 'Fn::GetAtt': ['DeadLetters', 'Arn'] })).toBe('arn:aws:sqs:us-east-1:000000000000:DeadLetters');
  });

  it('reads a bus from a name, an ARN, or nothing (the default bus)', () => {
    expect(eventBusNameOf(undefined)).toBe('default');
    expect(eventBusNameOf('CompletionBus')).toBe('CompletionBus');
    expect(eventBusNameOf('arn:aws:events:us-east-1:000000000000:event-bus/CompletionBus')).toBe('CompletionBus');
  });
});

describe('resolveIntrinsics for IAM grants', () => {
  it('splits and selects, as a grant on executions takes the state machine name out of its ARN', () => {
    const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:Flow';
    expect(resolve({ 'Fn::Join': ['', ['executions:', { 'Fn::Select': [6, { 'Fn::Split': [':', arn] }] }, ':*']] })).toBe('executions:Flow:*');
    expect(() => resolve({ 'Fn::Select': [9, { 'Fn::Split': [':', arn] }] })).toThrow(/out of/);
  });
});
