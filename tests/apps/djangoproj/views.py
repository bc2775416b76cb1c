from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt


def hello(request, name):
    return HttpResponse("Hello, %s!" % name, content_type="text/plain")


@csrf_exempt
def form(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    return HttpResponse("form: " + ",".join("%s=%s" % (k, v) for k, v in sorted(request.POST.items())),
                        content_type="text/plain")


def as_json(request):
    return JsonResponse({"framework": "django", "numbers": [1, 2, 3], "query": request.GET.get("q")})


def stream(request):
    return StreamingHttpResponse(("chunk %d\n" % i for i in range(3)), content_type="text/plain")
