import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  IdentitySource,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  TokenAuthorizer,
} from 'aws-cdk-lib/aws-apigateway';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, type IDependable } from 'constructs';
import { BEARER_VALIDATION_REGEX, DROP_IN_STAGE, UNAUTHORIZED_BODY } from '../../contracts/drop-in.js';
import { HANDLER } from '../../contracts/handlers.js';
import { TOKENS_TABLE } from '../../contracts/tables.js';
import { HouseFunction } from './house-function.js';
import { addProviderRoutes } from './intake-api.js';
import { acknowledge } from './nag.js';

export interface DropInApiProps {
  /** The intake function: it answers the provider's routes here as on the IAM API. */
  intake: IFunction;
  /** Keep the Tokens table when the stack is deleted. */
  retainData: boolean;
  /**
   * API Gateway's account-level logging role (AWS::ApiGateway::Account, one per account and region),
   * made by the IAM API: this API's stage logs through it, so it waits for it.
   */
  logsAccount: IDependable;
}

/**
 * The provider's own routes for programs written against the provider (README, Drop-in provider
 * API): a second REST API whose methods take `Authorization: Bearer <token>`, checked by a Lambda
 * TOKEN authorizer against the operator's Tokens table. API Gateway allows one authorizer type per
 * method, so the IAM API keeps SigV4 on the same routes and this one takes tokens (docs/security.md).
 */
export class DropInApi extends Construct {
  public readonly tokens: Table;
  public readonly authorizerFunction: HouseFunction;
  public readonly api: RestApi;

  constructor(scope: Construct, id: string, props: DropInApiProps) {
    super(scope, id);
    this.tokens = new Table(this, 'Tokens', {
      partitionKey: { name: TOKENS_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.retainData,
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.authorizerFunction = new HouseFunction(this, 'TokenAuthorizerFunction', {
      handlerFile: HANDLER.tokenAuthorizer,
      timeout: Duration.seconds(10),
      environment: { TOKENS_TABLE: this.tokens.tableName },
    });
    // It reads one token by its id, nothing else: the operator's CLI issues and revokes them with its own credentials.
    Grant.addToPrincipal({ grantee: this.authorizerFunction, actions: ['dynamodb:GetItem'], resourceArns: [this.tokens.tableArn] });

    const authorizer = new TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: this.authorizerFunction,
      identitySource: IdentitySource.header('Authorization'),
      // A header not of the form `Bearer vpt_…` is refused by API Gateway itself, with no invocation.
      validationRegex: BEARER_VALIDATION_REGEX,
      // No cache: a revoked token is refused on its next request (the check is one GetItem).
      resultsCacheTtl: Duration.seconds(0),
    });
    this.api = new RestApi(this, 'Api', {
      description: "video-pipeline: the provider's own routes, with the operator's Bearer tokens",
      defaultMethodOptions: { authorizationType: AuthorizationType.CUSTOM, authorizer },
      deployOptions: {
        stageName: DROP_IN_STAGE,
        tracingEnabled: true,
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
        loggingLevel: MethodLoggingLevel.ERROR,
        accessLogDestination: new LogGroupLogDestination(new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH })),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      cloudWatchRole: false,
    });
    this.api.deploymentStage.node.addDependency(props.logsAccount);
    addProviderRoutes(this.api.root, new LambdaIntegration(props.intake));

    // API Gateway's own answers, in the gateway's error shape a provider client reads (docs/provider-api.md, Errors).
    // Gateway response templates take plain variable substitution, not VTL: the code is the response type as is.
    this.api.addGatewayResponse('Unauthorized', {
      type: ResponseType.UNAUTHORIZED,
      statusCode: '401',
      templates: { 'application/json': JSON.stringify(UNAUTHORIZED_BODY) },
    });
    this.api.addGatewayResponse('Throttled', {
      type: ResponseType.THROTTLED,
      statusCode: '429',
      templates: { 'application/json': '{"error":{"message":$context.error.messageString,"type":"rate_limit_error","code":"rate_limit_exceeded"}}' },
    });
    this.api.addGatewayResponse('Default4xx', {
      type: ResponseType.DEFAULT_4XX,
      templates: {
        'application/json': '{"error":{"message":$context.error.messageString,"type":"invalid_request_error","code":"$context.error.responseType"}}',
      },
    });
    this.api.addGatewayResponse('Default5xx', {
      type: ResponseType.DEFAULT_5XX,
      templates: {
        'application/json': '{"error":{"message":$context.error.messageString,"type":"server_error","code":"$context.error.responseType"}}',
      },
    });

    acknowledge(
      this.api,
      'AwsSolutions-APIG2',
      "The intake function validates every body with the provider's request contract (runtime/domain/request-schema.ts) and answers " +
        "the gateway's error shape; an API Gateway validator would answer its own body first and break the provider's contract",
    );
    acknowledge(
      this.api.deploymentStage,
      'AwsSolutions-APIG3',
      'Every method requires a Bearer token the operator issued, checked by the token authorizer (API Gateway refuses a malformed one ' +
        'before any invocation), and the stage is throttled (50 rps, burst 100); a WAF web ACL (about $6/month before requests) adds little to that here',
    );
    for (const method of this.api.methods) {
      acknowledge(
        method,
        'AwsSolutions-COG4',
        "The method takes the provider's own auth, `Authorization: Bearer <token>`, which programs written for the provider already send: " +
          'a Lambda TOKEN authorizer checks it against the tokens the operator issues and revokes (docs/security.md); Cognito tokens would need those programs changed',
      );
    }
  }
}
