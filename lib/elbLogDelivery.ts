/**
 * Who writes load balancer access logs into S3, per region. Regions that existed before
 * August 2022 deliver from a regional Elastic Load Balancing account, which the bucket
 * policy must name; newer regions deliver as the service principal
 * logdelivery.elasticloadbalancing.amazonaws.com (Elastic Load Balancing user guide,
 * "Enable access logs for your Application Load Balancer").
 */
import { REGION_NAME } from "./rules";

/** Regional Elastic Load Balancing accounts of the regions that predate August 2022. */
export const ELB_LOG_ACCOUNTS: Readonly<Record<string, string>> = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
};

export const ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com";

/** The bucket-policy principal that delivers load balancer access logs in `region`. */
export function elbLogDeliveryPrincipal(region: string, partition = "aws"): { AWS: string } | { Service: string } {
    if (!REGION_NAME.accepts(region)) {
        throw new Error(`elbLogDeliveryPrincipal: "${region}" is not an AWS region name like us-east-2`);
    }
    const account = ELB_LOG_ACCOUNTS[region];
    return account ? { AWS: `arn:${partition}:iam::${account}:root` } : { Service: ELB_LOG_DELIVERY_SERVICE };
}
